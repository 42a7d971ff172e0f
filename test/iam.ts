/** Helpers for tests that act as IAM users and role sessions: clients signing with their credentials. */
import { IAMClient, CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { KMSClient } from "@aws-sdk/client-kms";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from "./helpers.js";

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const ROOT_CREDS: Creds = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

const common = (url: string, credentials: Creds) => ({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });

export function iamClient(url: string, credentials: Creds = ROOT_CREDS, options: { systemClockOffset?: number } = {}): IAMClient {
  return new IAMClient({ ...common(url, credentials), ...options });
}

export function stsClient(url: string, credentials: Creds = ROOT_CREDS, options: { systemClockOffset?: number } = {}): STSClient {
  return new STSClient({ ...common(url, credentials), ...options });
}

export function kmsAs(url: string, credentials: Creds, options: { systemClockOffset?: number } = {}): KMSClient {
  return new KMSClient({ ...common(url, credentials), ...options });
}

export function policy(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Creates a user with an access key and the given inline policies; returns its credentials. */
export async function makeUser(iam: IAMClient, name: string, policies: Record<string, string> = {}): Promise<Creds> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  for (const [PolicyName, PolicyDocument] of Object.entries(policies)) {
    await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName, PolicyDocument }));
  }
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
}
