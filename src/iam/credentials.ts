/**
 * Accounts and their access keys. Secret access keys are stored only wrapped by the key store;
 * SigV4 verification needs the secret itself, so unwrapped secrets are kept in memory, keyed by
 * the wrapped value (a changed secret or status in the database is seen on the next request).
 */
import { randomBytes } from "node:crypto";
import type { KeyStore } from "../keystore/keystore.js";
import type { Repository } from "../store/repository.js";
import type { AccessKeyRecord } from "../store/records.js";
import type { IdentityLookup, SigningIdentity } from "../http/sigv4.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

export function generateAccessKeyId(prefix = "AKIA"): string {
  const bytes = randomBytes(16);
  let id = prefix;
  for (let i = 0; i < 16; i++) id += BASE32[bytes[i]! & 31];
  return id;
}

export function generateSecretAccessKey(): string {
  return randomBytes(30).toString("base64");
}

function secretContext(accessKeyId: string): string {
  return `keyhold:access-key-secret:v1:${accessKeyId}`;
}

export class Credentials {
  private readonly secrets = new Map<string, { wrapped: Buffer; secret: string }>();

  constructor(
    private readonly repo: Repository,
    private readonly keystore: KeyStore,
  ) {}

  async addAccessKey(accountId: string, accessKeyId: string, secretAccessKey: string, now: number): Promise<void> {
    const record: AccessKeyRecord = {
      accessKeyId,
      accountId,
      wrappedSecret: this.keystore.wrap(Buffer.from(secretAccessKey, "utf8"), secretContext(accessKeyId)),
      status: "Active",
      createdAt: now,
    };
    await this.repo.putAccessKey(record);
  }

  readonly lookup: IdentityLookup = async (accessKeyId) => {
    const record = await this.repo.getAccessKey(accessKeyId);
    if (!record || record.status !== "Active") return undefined;
    let cached = this.secrets.get(accessKeyId);
    if (!cached || !cached.wrapped.equals(record.wrappedSecret)) {
      const secret = this.keystore.unwrap(record.wrappedSecret, secretContext(accessKeyId));
      cached = { wrapped: record.wrappedSecret, secret: secret.toString("utf8") };
      secret.fill(0);
      this.secrets.set(accessKeyId, cached);
    }
    const identity: SigningIdentity = { accessKeyId, accountId: record.accountId, secretAccessKey: cached.secret };
    return identity;
  };
}
