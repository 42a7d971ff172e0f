/** Helpers for S3 tests: a path-style S3 client for a keyhold, reading bodies, and signed requests no SDK sends. */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import type { Creds } from "./iam.js";
import { ROOT_CREDS } from "./iam.js";

export function s3Client(url: string, credentials: Creds = ROOT_CREDS, options: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ endpoint: url, region: "us-east-1", forcePathStyle: true, credentials, maxAttempts: 1, ...options });
}

/** The whole body of a GetObject answer. */
export async function bytesOf(body: unknown): Promise<Buffer> {
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

/** Deterministic pseudo-random bytes (so a failing comparison can be reproduced). */
export function patterned(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A SigV4 signer for S3, signing the path as sent, as the SDKs do for S3. */
export function s3Signer(credentials: Creds = ROOT_CREDS): SignatureV4 {
  return new SignatureV4({ credentials, region: "us-east-1", service: "s3", sha256: Hash.bind(null, "sha256"), uriEscapePath: false });
}

export interface RawS3Request {
  method: string;
  /** The path as it goes on the wire (already percent-encoded). */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  signingDate?: Date;
}

/** The signed headers of a request no SDK would send (hand-framed or malformed), for `endpoint`. */
export async function signS3(endpoint: string, r: RawS3Request): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signed = await s3Signer().sign(
    {
      method: r.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: r.path,
      query: r.query ?? {},
      headers: { host: url.host, ...r.headers },
      body: r.body,
    },
    { signingDate: r.signingDate },
  );
  return signed.headers as Record<string, string>;
}

/** Signs and sends such a request over HTTP; its status and body. */
export async function sendS3(endpoint: string, r: RawS3Request): Promise<{ status: number; text: string }> {
  const headers = await signS3(endpoint, r);
  const qs = Object.entries(r.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  const res = await fetch(`${endpoint}${r.path}${qs ? `?${qs}` : ""}`, { method: r.method, headers, body: r.body || undefined });
  return { status: res.status, text: await res.text() };
}

/**
 * The classic bucket policy that refuses unencrypted uploads: PutObject without
 * x-amz-server-side-encryption (a Null condition), or with another value than AES256, is denied.
 */
export function denyUnencryptedPolicy(bucket: string): string {
  const deny = (sid: string, condition: object) => ({
    Sid: sid,
    Effect: "Deny",
    Principal: "*",
    Action: "s3:PutObject",
    Resource: `arn:aws:s3:::${bucket}/*`,
    Condition: condition,
  });
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      deny("DenyIncorrectEncryptionHeader", { StringNotEquals: { "s3:x-amz-server-side-encryption": "AES256" } }),
      deny("DenyUnEncryptedObjectUploads", { Null: { "s3:x-amz-server-side-encryption": "true" } }),
    ],
  });
}
