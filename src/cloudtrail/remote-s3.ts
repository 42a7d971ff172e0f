/**
 * Trail delivery to an S3-compatible endpoint other than keyhold's own (AWS S3, MinIO, another
 * keyhold): path-style requests signed with SigV4 by the access key the operator configured
 * (KEYHOLD_TRAIL_S3_*). There, that key's permissions and the bucket's policy decide, as the
 * remote enforces them; keyhold only asks for what CloudTrail asks for (the ACL
 * bucket-owner-full-control, SSE-KMS with the trail's KmsKeyId, the digest's signature metadata).
 */
import { createHash, createHmac } from "node:crypto";
import { ServiceError } from "../errors.js";
import { uriEncode } from "../http/sigv4.js";

export interface RemoteS3Options {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** How long one request to the remote may take before the delivery gives up on this pass. */
const REQUEST_TIMEOUT_MS = 30_000;

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

export class RemoteS3 {
  private readonly base: URL;

  constructor(private readonly options: RemoteS3Options) {
    this.base = new URL(options.endpoint);
  }

  get endpoint(): string {
    return this.base.origin;
  }

  /** S3BucketDoesNotExistException for a missing bucket; InsufficientS3BucketPolicyException when the key may not see it. */
  async checkBucket(bucket: string): Promise<void> {
    const status = await this.send("HEAD", bucket, undefined, Buffer.alloc(0), {});
    if (status === 404) throw new ServiceError("S3BucketDoesNotExistException", `S3 bucket ${bucket} does not exist at ${this.endpoint}.`);
    if (status === 403) {
      throw new ServiceError(
        "InsufficientS3BucketPolicyException",
        `The trail's delivery credentials may not use bucket ${bucket} at ${this.endpoint}.`,
      );
    }
    if (status < 200 || status >= 300)
      throw new ServiceError("S3BucketDoesNotExistException", `S3 bucket ${bucket} at ${this.endpoint} answered HTTP ${status}.`);
  }

  async put(bucket: string, key: string, body: Buffer, metadata: Record<string, string>, kmsKeyId: string | undefined): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/json", "x-amz-acl": "bucket-owner-full-control" };
    for (const [name, value] of Object.entries(metadata)) headers[`x-amz-meta-${name}`] = value;
    if (kmsKeyId) {
      headers["x-amz-server-side-encryption"] = "aws:kms";
      headers["x-amz-server-side-encryption-aws-kms-key-id"] = kmsKeyId;
    }
    const status = await this.send("PUT", bucket, key, body, headers);
    if (status === 403)
      throw new ServiceError("AccessDeniedException", `${this.endpoint} refused the delivery to s3://${bucket}/${key} (HTTP 403).`);
    if (status === 404) throw new ServiceError("S3BucketDoesNotExistException", `S3 bucket ${bucket} does not exist at ${this.endpoint}.`);
    if (status < 200 || status >= 300)
      throw new ServiceError("InternalFailure", `${this.endpoint} answered HTTP ${status} to the delivery of s3://${bucket}/${key}.`);
  }

  /** One signed path-style request; returns its HTTP status (a network failure is a 503 to the caller). */
  private async send(
    method: string,
    bucket: string,
    key: string | undefined,
    body: Buffer,
    extra: Record<string, string>,
  ): Promise<number> {
    const path = `/${uriEncode(bucket)}${key === undefined ? "" : `/${key.split("/").map(uriEncode).join("/")}`}`;
    const url = new URL(path, this.base);
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}Z$/, "Z");
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = { ...extra, host: url.host, "x-amz-date": amzDate, "x-amz-content-sha256": sha256Hex(body) };
    const names = Object.keys(headers)
      .map((n) => n.toLowerCase())
      .sort();
    const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, " ")}\n`).join("");
    const signedHeaders = names.join(";");
    const canonicalRequest = [method, url.pathname, "", canonicalHeaders, signedHeaders, headers["x-amz-content-sha256"]].join("\n");
    const scope = `${day}/${this.options.region}/s3/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
    let signingKey = hmac(`AWS4${this.options.secretAccessKey}`, day);
    for (const part of [this.options.region, "s3", "aws4_request"]) signingKey = hmac(signingKey, part);
    const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
    const { host: _host, ...sent } = headers;
    try {
      const response = await fetch(url, {
        method,
        headers: {
          ...sent,
          authorization: `AWS4-HMAC-SHA256 Credential=${this.options.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
        },
        body: method === "PUT" ? Uint8Array.from(body) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 503;
    }
  }
}
