/**
 * Access keys and who they belong to. Secret access keys are stored only wrapped by the key
 * store; SigV4 verification needs the secret itself, so unwrapped secrets are kept in memory,
 * keyed by the wrapped value (a changed secret or status in the database is seen on the next
 * request). A key of an IAM user works while the user exists; a session's key while its role, or
 * for a user's console session its user, exists (the same one, not a new one of the same name)
 * and until it expires.
 */
import { randomBytes } from "node:crypto";
import type { KeyStore } from "../keystore/keystore.js";
import type { Repository } from "../store/repository.js";
import { isRoleSession, type AccessKeyRecord, type RoleSessionRecord } from "../store/records.js";
import type { IdentityLookup, SigningIdentity } from "../http/sigv4.js";
import type { Directory, RoleBody, UserBody } from "./directory.js";
import { rootPrincipal, type Principal } from "./principal.js";
import { Lru, type CacheStats } from "../lru.js";

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
  /** Unwrapped secrets of the access keys in use (strings: JavaScript cannot zero them; dropped, they are left to the collector). */
  private readonly secrets = new Lru<string, { wrapped: Buffer; secret: string }>(50_000);

  constructor(
    private readonly repo: Repository,
    private readonly keystore: KeyStore,
    private readonly directory: Directory,
  ) {}

  /** Hits, misses and evictions of the unwrapped-secret cache (the metrics read them). */
  secretCacheStats(): CacheStats {
    return this.secrets.stats();
  }

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
      this.secrets.set(record.accessKeyId, cached);
    }
    return cached.secret;
  }

  /**
   * The user or role an access key belongs to, or undefined when it is gone: a session's role
   * must be the one that issued it, not a new one of its name.
   */
  private async ownerOf(record: AccessKeyRecord): Promise<Owner | undefined> {
    const session = record.session;
    if (session && isRoleSession(session)) {
      const role = await this.directory.get("iam-role", record.accountId, session.roleName);
      return role && role.body.roleId === session.roleId ? { kind: "role", session, role: role.body } : undefined;
    }
    if (record.userName === undefined) return session ? undefined : ROOT;
    const user = await this.directory.get("iam-user", record.accountId, record.userName);
    if (!user || (session && user.body.userId !== session.userId)) return undefined;
    return { kind: "user", userName: record.userName, user: user.body, issuedAt: session?.issuedAt };
  }

  /**
   * The identity each cached access key record stands for, kept while the repository's documents
   * (its user or role) stay as they were.
   */
  private readonly identities = new WeakMap<AccessKeyRecord, { version: number; identity: SigningIdentity }>();

  readonly lookup: IdentityLookup = async (accessKeyId) => {
    const record = await this.repo.getAccessKey(accessKeyId);
    if (!record || record.status !== "Active") return undefined;
    const version = this.repo.documentsVersion?.();
    const known = this.identities.get(record);
    if (known !== undefined && known.version === version) return known.identity;
    const owner = await this.ownerOf(record);
    if (!owner) return undefined;
    const identity: SigningIdentity = Object.freeze({
      accessKeyId,
      accountId: record.accountId,
      secretAccessKey: this.secretOf(record),
      principal: Object.freeze(principalOf(record.accountId, owner)),
      session: record.session,
    });
    if (version !== undefined) this.identities.set(record, { version, identity });
    return identity;
  };
}

type Owner =
  | { kind: "root" }
  | { kind: "user"; userName: string; user: UserBody; issuedAt?: number }
  | { kind: "role"; session: RoleSessionRecord; role: RoleBody };

const ROOT: Owner = { kind: "root" };

function principalOf(accountId: string, owner: Owner): Principal {
  switch (owner.kind) {
    case "root":
      return rootPrincipal(accountId);
    case "user":
      return {
        type: "IAMUser",
        accountId,
        arn: owner.user.arn,
        principalId: owner.user.userId,
        userName: owner.userName,
        // A console session's: aws:TokenIssueTime, and the trail's sessionContext.
        ...(owner.issuedAt !== undefined && { issuedAt: owner.issuedAt }),
      };
    case "role": {
      const s = owner.session;
      return {
        type: "AssumedRole",
        accountId,
        arn: `arn:aws:sts::${accountId}:assumed-role/${s.roleName}/${s.sessionName}`,
        principalId: `${s.roleId}:${s.sessionName}`,
        roleArn: owner.role.arn,
        roleName: s.roleName,
        sessionName: s.sessionName,
        issuedAt: s.issuedAt,
      };
    }
  }
}
