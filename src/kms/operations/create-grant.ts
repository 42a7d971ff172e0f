import type { CreateGrantRequest, CreateGrantResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { enumOf, list, str, struct } from "../../validation/schema.js";
import { GRANT_OPERATIONS, grantToken, Grants, type GrantBody } from "../grants.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantConstraintContext, GrantTokens, KeyId } from "../shapes.js";
import { rootArn } from "../../iam/principal.js";
import { algorithmsOf } from "../key-specs.js";
import type { KeyRecord } from "../../store/records.js";
import { principalExists } from "../../iam/principal-check.js";

export const GrantPrincipal = str({ min: 1, max: 256, pattern: /^[\w+=,.@:/-]+$/ });
const PRINCIPAL = /^(\d{12}|arn:aws:iam::\d{12}:(root|user\/.+|role\/.+)|arn:aws:sts::\d{12}:assumed-role\/.+\/.+)$/;

/** Which grant operations make sense for a key of this usage (AWS refuses the others). */
function validFor(usage: string, keySpec: string, operation: string): boolean {
  const common = ["CreateGrant", "RetireGrant", "DescribeKey"];
  if (common.includes(operation)) return true;
  if (usage === "ENCRYPT_DECRYPT") {
    const symmetric = algorithmsOf(keySpec, usage).includes("SYMMETRIC_DEFAULT");
    const always = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo"];
    return always.includes(operation) || (symmetric ? operation.startsWith("GenerateDataKey") : operation === "GetPublicKey");
  }
  if (usage === "SIGN_VERIFY") return ["Sign", "Verify", "GetPublicKey"].includes(operation);
  if (usage === "GENERATE_VERIFY_MAC") return ["GenerateMac", "VerifyMac"].includes(operation);
  if (usage === "KEY_AGREEMENT") return ["DeriveSharedSecret", "GetPublicKey"].includes(operation);
  return false;
}

function sameGrant(a: GrantBody, b: GrantBody): boolean {
  return (
    a.granteePrincipal === b.granteePrincipal &&
    a.retiringPrincipal === b.retiringPrincipal &&
    JSON.stringify([...a.operations].sort()) === JSON.stringify([...b.operations].sort()) &&
    JSON.stringify(a.constraints ?? null) === JSON.stringify(b.constraints ?? null)
  );
}

export const createGrant = defineOperation<CreateGrantRequest, CreateGrantResponse>({
  name: "CreateGrant",
  description: "Give a principal some operations on a key, optionally bound to an encryption context; returns a grant token.",
  readOnly: false,
  input: struct(
    {
      KeyId,
      GranteePrincipal: GrantPrincipal,
      RetiringPrincipal: GrantPrincipal,
      Operations: list(enumOf(GRANT_OPERATIONS)),
      Constraints: struct({ EncryptionContextSubset: GrantConstraintContext, EncryptionContextEquals: GrantConstraintContext }),
      GrantTokens,
      Name: str({ min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ }),
      DryRun,
    },
    ["KeyId", "GranteePrincipal", "Operations"],
  ),
  async run(kms, call, input) {
    for (const [member, value] of [
      ["GranteePrincipal", input.GranteePrincipal],
      ["RetiringPrincipal", input.RetiringPrincipal],
    ] as const) {
      if (value !== undefined && !PRINCIPAL.test(value)) {
        throw new ServiceError("ValidationException", `${member} ${value} is not a valid principal: use an account id or an IAM ARN.`);
      }
    }
    const operations = [...new Set(input.Operations!)];
    if (operations.length === 0) throw new ServiceError("ValidationException", "Operations must name at least one operation.");
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage", crossAccount: true });
    const invalid = operations.filter((o) => !validFor(key.keyUsage, key.keySpec, o));
    if (invalid.length > 0) {
      throw new ServiceError(
        "ValidationException",
        `Grant operations ${invalid.join(", ")} are not valid for a ${key.keySpec} ${key.keyUsage} key.`,
      );
    }
    checkConstraints(input.Constraints, key);
    for (const principal of [input.GranteePrincipal!, input.RetiringPrincipal]) {
      if (principal !== undefined && !(await principalExists(principal, kms.repo))) {
        throw new ServiceError("InvalidArnException", `${principal} does not name a principal that exists.`);
      }
    }
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    const grant: GrantBody = {
      grantId: Grants.newId(),
      keyId: key.keyId,
      keyArn: kms.arnOf(key),
      name: input.Name,
      granteePrincipal: input.GranteePrincipal!,
      retiringPrincipal: input.RetiringPrincipal,
      operations,
      constraints: input.Constraints as GrantBody["constraints"],
      issuingAccount: rootArn(call.accountId),
      creationDate: kms.clock.now(),
    };
    // With a Name, CreateGrant is idempotent: the same grant asked for again is the one made before.
    if (input.Name !== undefined) {
      const existing = (await kms.grants.all(key)).find((g) => g.name === input.Name && sameGrant(g, grant));
      if (existing) return { GrantId: existing.grantId, GrantToken: grantToken(existing, key.accountId) };
    }
    await kms.grants.put(key, grant, grant.creationDate);
    return { GrantId: grant.grantId, GrantToken: grantToken(grant, key.accountId) };
  },
});

/**
 * Only a symmetric encryption key takes encryption context constraints (asymmetric and HMAC keys
 * have no encryption context to bind). Their bounds (8 pairs, values up to 384 characters) are
 * the input schema's, checked before authorization.
 */
function checkConstraints(constraints: CreateGrantRequest["Constraints"], key: KeyRecord): void {
  if (constraints === undefined) return;
  if (key.keySpec !== "SYMMETRIC_DEFAULT" && (constraints.EncryptionContextEquals || constraints.EncryptionContextSubset)) {
    throw new ServiceError(
      "ValidationException",
      `Encryption context grant constraints apply to symmetric encryption keys only, not to a ${key.keySpec} key.`,
    );
  }
}
