/**
 * The SDK clients the console's data functions call. The console builds them with the signed-in
 * credentials (console/src/aws.ts); tests build them against a keyhold in node. Nothing here
 * depends on the browser or on node: only on the SDK v3 clients.
 */
import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export interface DataClients {
  kms: KMSClient;
  s3: S3Client;
  secretsManager: SecretsManagerClient;
  cloudTrail: CloudTrailClient;
}

/** An AWS refusal as the console shows it: the error code and AWS's own message. */
export interface AwsFailure {
  code: string;
  message: string;
}

/** What an SDK call threw, as code and message (never a stack, never "[object Object]"). */
export function failureOf(error: unknown): AwsFailure {
  if (error instanceof Error) return { code: error.name || "Error", message: error.message || error.name || "The request failed." };
  return { code: "Error", message: String(error) };
}

/** A part of a result that either loaded or was refused; one refusal does not hide the other parts. */
export type Section<T> = { ok: true; value: T } | { ok: false; error: AwsFailure };

export async function section<T>(load: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (error) {
    return { ok: false, error: failureOf(error) };
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the order of `items`. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
