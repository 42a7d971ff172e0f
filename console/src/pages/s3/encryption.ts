/** How the S3 pages name an encryption setting. */
import type { ServerSideEncryptionRule } from "@aws-sdk/client-s3";

export function encryptionText(rule: ServerSideEncryptionRule | undefined): string {
  const d = rule?.ApplyServerSideEncryptionByDefault;
  if (!d?.SSEAlgorithm) return "None";
  if (d.SSEAlgorithm === "AES256") return "SSE-S3";
  const key = d.KMSMasterKeyID || "aws/s3";
  return `SSE-KMS (${key})${rule?.BucketKeyEnabled ? ", bucket key" : ""}`;
}

/** An object's encryption as HeadObject reports it. */
export function objectEncryption(head: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): string {
  if (head.SSECustomerAlgorithm) return "SSE-C";
  if (head.ServerSideEncryption === "AES256") return "SSE-S3";
  if (head.ServerSideEncryption?.startsWith("aws:kms")) return head.ServerSideEncryption === "aws:kms:dsse" ? "DSSE-KMS" : "SSE-KMS";
  return head.ServerSideEncryption ?? "None";
}
