/** Helpers for S3 tests: a path-style S3 client for a keyhold, and reading bodies. */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
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
