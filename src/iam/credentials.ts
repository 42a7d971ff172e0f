/**
 * Access keys and who they belong to. Secret access keys are stored only wrapped by the key
 * store; SigV4 verification needs the secret itself, so unwrapped secrets are kept in memory,
 * keyed by the wrapped value (a changed secret or status in the database is seen on the next
 * request). A key of an IAM user works while the user exists; a session's key while its role
 * exists (the same role, not a new one of the same name) and until it expires.
 */
import { randomBytes } from "node:crypto";
import type { KeyStore } from "../keystore/keystore.js";
import type { Repository } from "../store/repository.js";
import type { AccessKeyRecord } from "../store/records.js";
import type { IdentityLookup, SigningIdentity } from "../http/sigv4.js";
import type { Directory } from "./directory.js";
import { rootPrincipal, type Principal } from "./principal.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

/** AKIA for long-term keys, ASIA for temporary ones, as AWS. */
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
    private readonly directory: Directory,
  ) {}

  /** Stores a new access key; its secret only wrapped. */
  async addAccessKey(
    accountId: string,
    accessKeyId: string,
    secretAccessKey: string,
    now: number,
    owner: Pick<AccessKeyRecord, "userName" | "session"> = {},
  ): Promise<AccessKeyRecord> {
    const record: AccessKeyRecord = {
      accessKeyId,
      accountId,
      wrappedSecret: this.keystore.wrap(Buffer.from(secretAccessKey, "utf8"), secretContext(accessKeyId)),
      status: "Active",
      createdAt: now,
      ...owner,
    };
    await this.repo.putAccessKey(record);
    return record;
  }

  private secretOf(record: AccessKeyRecord): string {
    let cached = this.secrets.get(record.accessKeyId);
    if (!cached || !cached.wrapped.equals(record.wrappedSecret)) {
      const secret = this.keystore.unwrap(record.wrappedSecret, secretContext(record.accessKeyId));
      cached = { wrapped: record.wrappedSecret, secret: secret.toString("utf8") };
      secret.fill(0);
      if (this.secrets.size > 50_000) this.secrets.clear();
      this.secrets.set(record.accessKeyId, cached);
    }
    return cached.secret;
  }

  private async principalOf(record: AccessKeyRecord): Promise<Principal | undefined> {
    if (record.session) {
      const s = record.session;
      const role = await this.directory.get("iam-role", record.accountId, s.roleName);
      if (!role || role.body.roleId !== s.roleId) return undefined;
      return {
        type: "AssumedRole",
        accountId: record.accountId,
        arn: `arn:aws:sts::${record.accountId}:assumed-role/${s.roleName}/${s.sessionName}`,
        principalId: `${s.roleId}:${s.sessionName}`,
        roleArn: role.body.arn,
        roleName: s.roleName,
        sessionName: s.sessionName,
        issuedAt: s.issuedAt,
      };
    }
    if (record.userName !== undefined) {
      const user = await this.directory.get("iam-user", record.accountId, record.userName);
      if (!user) return undefined;
      return { type: "IAMUser", accountId: record.accountId, arn: user.body.arn, principalId: user.body.userId, userName: record.userName };
    }
    return rootPrincipal(record.accountId);
  }

  readonly lookup: IdentityLookup = async (accessKeyId) => {
    const record = await this.repo.getAccessKey(accessKeyId);
    if (!record || record.status !== "Active") return undefined;
    const principal = await this.principalOf(record);
    if (!principal) return undefined;
    const identity: SigningIdentity = {
      accessKeyId,
      accountId: record.accountId,
      secretAccessKey: this.secretOf(record),
      principal,
      session: record.session,
    };
    return identity;
  };
}
