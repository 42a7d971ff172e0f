/**
 * The console's way to AWS: SDK v3 clients (their browser builds) pointed at the keyhold that
 * served the page, signing with the signed-in credentials. Pages import only the client they need,
 * so each client's code lands in that page's chunk:
 *
 *   import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
 *   const kms = useClient(KMSClient);
 *   const keys = await kms.send(new ListKeysCommand({}));
 *
 * S3 takes path-style addressing: `useClient(S3Client, { forcePathStyle: true })`.
 */
import { useMemo } from "react";
import { useSession, type Credentials } from "./session";

export interface ConsoleClientConfig {
  endpoint: string;
  region: string;
  credentials: Credentials;
  maxAttempts: number;
  [option: string]: unknown;
}

interface Destroyable {
  destroy(): void;
}

export type ClientConstructor<C extends Destroyable> = new (config: ConsoleClientConfig) => C;

/** The configuration every console client gets: keyhold's own origin, the session's credentials. */
export function clientConfig(credentials: Credentials, region: string, extra: Record<string, unknown> = {}): ConsoleClientConfig {
  return {
    endpoint: window.location.origin,
    region,
    credentials: { ...credentials },
    // A refusal is shown as it is; retrying a failed write could repeat it.
    maxAttempts: 1,
    ...extra,
  };
}

/**
 * One client per page render tree and session; a new session (sign-in as someone else) makes new
 * clients, so no client outlives the credentials it signs with.
 */
export function useClient<C extends Destroyable>(Client: ClientConstructor<C>, extra?: Record<string, unknown>): C {
  const { session } = useSession();
  const key = extra ? JSON.stringify(extra) : "";
  return useMemo(() => new Client(clientConfig(session.credentials, session.region, extra)), [Client, session, key]);
}

/** What an SDK error says, as AWS wrote it: its code (name) and message. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = error.name && error.name !== "Error" ? error.name : "Error";
    return { code, message: error.message || code };
  }
  return { code: "Error", message: String(error) };
}
