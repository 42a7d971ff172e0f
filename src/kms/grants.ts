/**
 * Grants: permissions on one key given to one principal for a list of operations, optionally
 * bound to an encryption context. Stored as documents (name "<key id>/<grant id>", ref: the
 * retiring principal). Authorization consults them when the policies allow nothing and deny
 * nothing; a grant token names its grant, so a fresh grant works at once on every node.
 */
import { randomBytes } from "node:crypto";
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import { principalArn, rootArn } from "../iam/principal.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord, KeyRecord } from "../store/records.js";

export const GRANT_OPERATIONS = [
  "Decrypt",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "ReEncryptFrom",
  "ReEncryptTo",
  "Sign",
  "Verify",
  "GetPublicKey",
  "CreateGrant",
  "RetireGrant",
  "DescribeKey",
  "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext",
  "GenerateMac",
  "VerifyMac",
  "DeriveSharedSecret",
] as const;

/** Operations that take an encryption context: the only ones a grant's constraints bind. */
const WITH_CONTEXT = new Set([
  "Decrypt",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "ReEncryptFrom",
  "ReEncryptTo",
  "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext",
]);

export interface GrantConstraints {
  EncryptionContextEquals?: Record<string, string>;
  EncryptionContextSubset?: Record<string, string>;
}

export interface GrantBody {
  grantId: string;
  keyId: string;
  keyArn: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: GrantConstraints;
  issuingAccount: string;
  creationDate: number;
}

const TOKEN_PREFIX = "khgt1.";

export function grantToken(grant: GrantBody, accountId: string): string {
  const payload = Buffer.from(`${accountId}/${grant.keyId}/${grant.grantId}`).toString("base64url");
  return `${TOKEN_PREFIX}${payload}.${randomBytes(16).toString("base64url")}`;
}

/** The grant a token names; InvalidGrantTokenException when it is not a keyhold grant token. */
export function parseGrantToken(token: string): { accountId: string; keyId: string; grantId: string } {
  const bad = () => new ServiceError("InvalidGrantTokenException", "The grant token is not valid.");
  if (!token.startsWith(TOKEN_PREFIX)) throw bad();
  const [payload] = token.slice(TOKEN_PREFIX.length).split(".");
  const parts = Buffer.from(payload ?? "", "base64url")
    .toString("utf8")
    .split("/");
  if (parts.length !== 3 || !/^\d{12}$/.test(parts[0]!) || !/^[0-9a-f]{64}$/.test(parts[2]!)) throw bad();
  return { accountId: parts[0]!, keyId: parts[1]!, grantId: parts[2]! };
}

/** Whether a principal named in a grant is the caller: its own ARN, its role's, or (for the root) its account. */
export function namesCaller(principal: string | undefined, call: CallContext): boolean {
  if (principal === undefined) return false;
  const p = call.principal;
  return (
    principal === p.arn ||
    principal === principalArn(p) ||
    (p.type === "Root" && (principal === rootArn(p.accountId) || principal === p.accountId))
  );
}

/** A context with its keys lowered: in a grant constraint the keys match without regard to case, the values exactly (as in AWS). */
function lowerKeys(context: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Whether `have` (keys lowered) holds every one of the pairs. */
function holdsAll(have: Map<string, string> | undefined, pairs: Iterable<[string, string]>): boolean {
  if (have === undefined) return false;
  for (const [k, v] of pairs) if (have.get(k.toLowerCase()) !== v) return false;
  return true;
}

function constraintsHold(c: GrantConstraints | undefined, context: Record<string, string> | undefined): boolean {
  if (!c) return true;
  const ec = lowerKeys(context ?? {});
  const equals = c.EncryptionContextEquals;
  if (equals && (Object.keys(equals).length !== ec.size || !holdsAll(ec, Object.entries(equals)))) return false;
  if (c.EncryptionContextSubset && !holdsAll(ec, Object.entries(c.EncryptionContextSubset))) return false;
  return true;
}

/**
 * Whether a grant asked for through a grant's CreateGrant permission is bound at least as tightly
 * as that grant (AWS: "equally strict or stricter"). Under EncryptionContextEquals the new grant
 * must carry the same Equals; under EncryptionContextSubset it must require every pair of it, by
 * a Subset or an Equals that holds them. Keys compare without regard to case, as in matching.
 */
function atLeastAsStrict(parent: GrantConstraints | undefined, child: GrantConstraints | undefined): boolean {
  if (!parent) return true;
  const lowered = (m: Record<string, string> | undefined) => (m === undefined ? undefined : lowerKeys(m));
  const [pEquals, pSubset] = [lowered(parent.EncryptionContextEquals), lowered(parent.EncryptionContextSubset)];
  const [cEquals, cSubset] = [lowered(child?.EncryptionContextEquals), lowered(child?.EncryptionContextSubset)];
  if (pEquals && !(cEquals && cEquals.size === pEquals.size && holdsAll(cEquals, pEquals))) return false;
  if (pSubset && !(holdsAll(cSubset, pSubset) || holdsAll(cEquals, pSubset))) return false;
  return true;
}

function toGrant(doc: DocumentRecord): GrantBody {
  return JSON.parse(doc.body) as GrantBody;
}

export class Grants {
  constructor(private readonly repo: Repository) {}

  static newId(): string {
    return randomBytes(32).toString("hex");
  }

  async put(key: KeyRecord, grant: GrantBody, now: number): Promise<boolean> {
    return this.repo.putDocument(
      {
        kind: "kms-grant",
        accountId: key.accountId,
        name: `${key.keyId}/${grant.grantId}`,
        ref: grant.retiringPrincipal,
        body: JSON.stringify(grant),
        revision: 1,
        createdAt: now,
      },
      "new",
    );
  }

  async get(key: KeyRecord, grantId: string): Promise<GrantBody | undefined> {
    const doc = await this.repo.getDocument("kms-grant", key.accountId, `${key.keyId}/${grantId}`);
    return doc && toGrant(doc);
  }

  async delete(key: KeyRecord, grantId: string): Promise<boolean> {
    return this.repo.deleteDocument("kms-grant", key.accountId, `${key.keyId}/${grantId}`);
  }

  /** The key's grants in grant-id order, a page at a time. */
  async page(key: KeyRecord, after: string | undefined, limit: number): Promise<{ grants: GrantBody[]; next?: string }> {
    const page = await this.repo.listDocuments("kms-grant", key.accountId, `${key.keyId}/`, after && `${key.keyId}/${after}`, limit);
    return { grants: page.items.map(toGrant), next: page.next?.slice(key.keyId.length + 1) };
  }

  async all(key: KeyRecord): Promise<GrantBody[]> {
    const out: GrantBody[] = [];
    let after: string | undefined;
    do {
      const page = await this.page(key, after, 1000);
      out.push(...page.grants);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  async retirable(principal: string, after: string | undefined, limit: number): Promise<{ grants: GrantBody[]; next?: string }> {
    const page = await this.repo.listDocumentsByRef("kms-grant", principal, after, limit);
    return { grants: page.items.map(toGrant), next: page.next };
  }

  /**
   * Whether a grant on the key lets the caller perform `action` (kms:Operation) with this
   * request's encryption context. A grant that allows CreateGrant allows only grants of a subset
   * of its own operations, bound by constraints at least as strict as its own.
   */
  async allows(
    call: CallContext,
    key: KeyRecord,
    action: string,
    context: Record<string, string> | undefined,
    requested: { operations?: readonly string[]; constraints?: GrantConstraints } = {},
  ): Promise<boolean> {
    const operation = action.slice("kms:".length);
    for (const grant of await this.all(key)) {
      if (!namesCaller(grant.granteePrincipal, call) || !grant.operations.includes(operation)) continue;
      if (WITH_CONTEXT.has(operation) && !constraintsHold(grant.constraints, context)) continue;
      if (operation === "CreateGrant") {
        if (!(requested.operations ?? []).every((o) => grant.operations.includes(o))) continue;
        if (!atLeastAsStrict(grant.constraints, requested.constraints)) continue;
      }
      return true;
    }
    return false;
  }
}
