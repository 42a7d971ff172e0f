/**
 * The IAM directory: users, groups, roles and managed policies of each account, stored as
 * documents, and what a principal's identity policies are. The IAM API operations change it;
 * authorization reads it (through the repository's cache) on every request of a non-root caller.
 */
import { randomBytes } from "node:crypto";
import { ServiceError } from "../errors.js";
import type { Repository } from "../store/repository.js";
import type { DocumentKind, DocumentRecord } from "../store/records.js";
import type { IdentityPolicies } from "./authorize.js";
import { compilePolicy, PolicySyntaxError, type CompiledPolicy, type PolicyKind } from "./policy.js";
import type { PasswordPolicy } from "./passwords.js";
import type { Principal } from "./principal.js";

export interface Attachments {
  /** Inline policies by name. */
  inline: Record<string, string>;
  /** ARNs of attached managed policies. */
  attached: string[];
}

export interface UserBody extends Attachments {
  userId: string;
  path: string;
  arn: string;
  createDate: number;
  groups: string[];
}

export interface GroupBody extends Attachments {
  groupId: string;
  path: string;
  arn: string;
  createDate: number;
}

export interface RoleBody extends Attachments {
  roleId: string;
  path: string;
  arn: string;
  createDate: number;
  trustPolicy: string;
  description?: string;
  maxSessionDuration: number;
}

export interface ManagedPolicyBody {
  policyId: string;
  path: string;
  arn: string;
  createDate: number;
  updateDate: number;
  document: string;
  description?: string;
}

/** A user's console password (CreateLoginProfile), stored by the user's name. */
export interface LoginProfileBody {
  /** The user it belongs to: a new user of the same name does not inherit it. */
  userId: string;
  createDate: number;
  passwordResetRequired: boolean;
  /** The password's scrypt hash (passwords.ts), and when it was set (MaxPasswordAge counts from then). */
  hash: string;
  passwordSetAt: number;
  /** Hashes of earlier passwords, newest first, as many as PasswordReusePrevention can ask (24). */
  previous: string[];
}

export interface Entities {
  "iam-user": UserBody;
  "iam-group": GroupBody;
  "iam-role": RoleBody;
  "iam-policy": ManagedPolicyBody;
  "iam-login-profile": LoginProfileBody;
  /** The account's password policy, stored under the name PASSWORD_POLICY. */
  "iam-password-policy": PasswordPolicy;
}

export const PASSWORD_POLICY = "account";

export type EntityKind = keyof Entities;

export interface Entity<K extends EntityKind> {
  name: string;
  revision: number;
  body: Entities[K];
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** AWS-style unique ids: AIDA (users), AGPA (groups), AROA (roles), ANPA (policies). */
export function uniqueId(prefix: string): string {
  const bytes = randomBytes(17);
  let id = prefix;
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export function iamArn(accountId: string, type: "user" | "group" | "role" | "policy", path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${type}${path}${name}`;
}

/** A policy's size as IAM's quotas count it: every character but whitespace. */
export function policySize(text: string): number {
  return text.replace(/\s/g, "").length;
}

/** A policy document as an IAM operation receives it: checked, or MalformedPolicyDocument. */
export function checkPolicyDocument(text: string, kind: PolicyKind): CompiledPolicy {
  try {
    return compilePolicy(text, kind);
  } catch (error) {
    if (error instanceof PolicySyntaxError) throw new ServiceError("MalformedPolicyDocument", error.message);
    throw error;
  }
}

/** NoSuchEntity in IAM's words for each kind of entity. */
export function notFound(kind: EntityKind, name: string): ServiceError {
  switch (kind) {
    case "iam-login-profile":
      return new ServiceError("NoSuchEntity", `Login Profile for User ${name} cannot be found.`);
    case "iam-password-policy":
      return new ServiceError("NoSuchEntity", `The Password Policy with domain name ${name} cannot be found.`);
    default: {
      const what = { "iam-user": "user", "iam-group": "group", "iam-role": "role", "iam-policy": "policy" }[kind];
      return new ServiceError("NoSuchEntity", `The ${what} with name ${name} cannot be found.`);
    }
  }
}

/** Parsed bodies and compiled inline policies, per cached record: one parse per change, not per request. */
const parsed = new WeakMap<DocumentRecord, object>();
const compiledInline = new WeakMap<Attachments, CompiledPolicy[]>();

export class Directory {
  constructor(private readonly repo: Repository) {}

  /** The entity as stored. Its body is shared with other readers (parsed once per cached record): do not change it. */
  async get<K extends EntityKind>(kind: K, accountId: string, name: string): Promise<Entity<K> | undefined> {
    const doc = await this.repo.getDocument(kind, accountId, name);
    if (!doc) return undefined;
    let body = parsed.get(doc);
    if (body === undefined) {
      body = JSON.parse(doc.body) as object;
      parsed.set(doc, body);
    }
    return { name: doc.name, revision: doc.revision, body: body as Entities[K] };
  }

  async require<K extends EntityKind>(kind: K, accountId: string, name: string): Promise<Entity<K>> {
    const entity = await this.get(kind, accountId, name);
    if (!entity) {
      throw notFound(kind, name);
    }
    return entity;
  }

  async create<K extends EntityKind>(kind: K, accountId: string, name: string, body: Entities[K], now: number): Promise<boolean> {
    return this.repo.putDocument(record(kind, accountId, name, body, 1, now), "new");
  }

  /**
   * Reads, changes and writes one entity, again if another writer got there first.
   * `change` returns false to leave the entity as it is.
   */
  async update<K extends EntityKind>(
    kind: K,
    accountId: string,
    name: string,
    change: (body: Entities[K]) => boolean | void,
  ): Promise<Entities[K]> {
    for (let attempt = 0; ; attempt++) {
      const shared = await this.require(kind, accountId, name);
      const entity = { ...shared, body: structuredClone(shared.body) };
      if (change(entity.body) === false) return entity.body;
      const written = await this.repo.putDocument(record(kind, accountId, name, entity.body, entity.revision + 1, 0), entity.revision);
      if (written) return entity.body;
      if (attempt > 20) throw new ServiceError("ConcurrentModification", "The entity is being changed by another request; try again.");
    }
  }

  async delete(kind: EntityKind, accountId: string, name: string): Promise<boolean> {
    return this.repo.deleteDocument(kind, accountId, name);
  }

  async list<K extends EntityKind>(kind: K, accountId: string, prefix = ""): Promise<Entity<K>[]> {
    const out: Entity<K>[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocuments(kind, accountId, prefix, after, 1000);
      for (const doc of page.items) out.push({ name: doc.name, revision: doc.revision, body: JSON.parse(doc.body) as Entities[K] });
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** The managed policy an ARN names, in the caller's account (AWS managed policies are not served). */
  async managedPolicy(accountId: string, arn: string): Promise<Entity<"iam-policy"> | undefined> {
    const prefix = `arn:aws:iam::${accountId}:policy/`;
    if (!arn.startsWith(prefix)) return undefined;
    const name = arn.slice(arn.lastIndexOf("/") + 1);
    const policy = await this.get("iam-policy", accountId, name);
    return policy && policy.body.arn === arn ? policy : undefined;
  }

  private async attachedPolicies(accountId: string, a: Attachments, out: CompiledPolicy[]): Promise<void> {
    let inline = compiledInline.get(a);
    if (!inline) {
      inline = Object.values(a.inline).map((text) => compilePolicy(text, "identity"));
      compiledInline.set(a, inline);
    }
    out.push(...inline);
    for (const arn of a.attached) {
      const policy = await this.managedPolicy(accountId, arn);
      if (policy) out.push(compilePolicy(policy.body.document, "identity"));
    }
  }

  /**
   * The identity policies of a user (its own and its groups') or of a role session. A principal's
   * own are kept while the repository's documents stay as they were (`documentsVersion`): every
   * request of a non-root caller asks, and reading a user, its groups and their policies each
   * time costs more than the rest of the decision.
   */
  async identityPolicies(principal: Principal, sessionPolicies: readonly string[] | undefined): Promise<IdentityPolicies> {
    return { policies: await this.principalPolicies(principal), session: sessionPolicies && compiledSession(sessionPolicies) };
  }

  /** Per principal object (Credentials hands out the same one for each request of an access key). */
  private readonly kept = new WeakMap<Principal, { version: number; policies: readonly CompiledPolicy[] }>();

  private async principalPolicies(principal: Principal): Promise<readonly CompiledPolicy[]> {
    const version = this.repo.documentsVersion?.();
    if (version === undefined) return this.readPrincipalPolicies(principal);
    const known = this.kept.get(principal);
    if (known?.version === version) return known.policies;
    const policies = await this.readPrincipalPolicies(principal);
    this.kept.set(principal, { version, policies });
    return policies;
  }

  private async readPrincipalPolicies(principal: Principal): Promise<readonly CompiledPolicy[]> {
    const policies: CompiledPolicy[] = [];
    if (principal.type === "IAMUser" && principal.userName !== undefined) {
      const user = await this.get("iam-user", principal.accountId, principal.userName);
      if (user) {
        await this.attachedPolicies(principal.accountId, user.body, policies);
        for (const groupName of user.body.groups) {
          const group = await this.get("iam-group", principal.accountId, groupName);
          if (group) await this.attachedPolicies(principal.accountId, group.body, policies);
        }
      }
    } else if (principal.type === "AssumedRole" && principal.roleName !== undefined) {
      const role = await this.get("iam-role", principal.accountId, principal.roleName);
      if (role) await this.attachedPolicies(principal.accountId, role.body, policies);
    }
    return policies;
  }
}

/** A session's policies, compiled once per (cached) access key record that carries them. */
const compiledSessions = new WeakMap<readonly string[], readonly CompiledPolicy[] | undefined>();

function compiledSession(texts: readonly string[]): readonly CompiledPolicy[] | undefined {
  if (compiledSessions.has(texts)) return compiledSessions.get(texts);
  const session = texts.length > 0 ? texts.map((text) => compilePolicy(text, "identity")) : undefined;
  compiledSessions.set(texts, session);
  return session;
}

function record<K extends EntityKind>(
  kind: K,
  accountId: string,
  name: string,
  body: Entities[K],
  revision: number,
  now: number,
): DocumentRecord {
  return { kind: kind as DocumentKind, accountId, name, body: JSON.stringify(body), revision, createdAt: now };
}
