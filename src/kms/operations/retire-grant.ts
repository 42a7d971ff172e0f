import type { RetireGrantRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { accessDenied } from "../../iam/authorizer.js";
import { rootArn } from "../../iam/principal.js";
import { str, struct } from "../../validation/schema.js";
import { namesCaller, parseGrantToken } from "../grants.js";
import { defineOperation } from "../operation.js";
import { DryRun, KeyId } from "../shapes.js";
import { keyArn } from "../arns.js";
import { KEY_RESOURCE_TYPE } from "../service.js";

export const retireGrant = defineOperation<RetireGrantRequest, Record<string, never>>({
  name: "RetireGrant",
  description: "Retire a grant (by token, or key and grant id): for its retiring principal, its grantee if allowed, or the key's account.",
  readOnly: false,
  input: struct({ GrantToken: str({ min: 1, max: 8192 }), KeyId, GrantId: str({ min: 1, max: 128 }), DryRun }),
  async run(kms, call, input) {
    let accountId: string;
    let keyId: string;
    let grantId: string;
    if (input.GrantToken !== undefined) {
      ({ accountId, keyId, grantId } = parseGrantToken(input.GrantToken));
    } else if (input.KeyId !== undefined && input.GrantId !== undefined) {
      const m = /^arn:aws:kms:[a-z0-9-]+:(\d{12}):key\/(.+)$/.exec(input.KeyId);
      if (!m) throw new ServiceError("ValidationException", "RetireGrant takes the key's ARN with a GrantId.");
      [accountId, keyId, grantId] = [m[1]!, m[2]!, input.GrantId];
    } else {
      throw new ServiceError("ValidationException", "Specify a GrantToken, or a KeyId and a GrantId.");
    }
    const key = await kms.repo.getKey(keyId);
    // Grants are regional, as keys are: a token or ARN of another region's key names no grant here.
    const grant = key && key.accountId === accountId && key.region === call.region ? await kms.grants.get(key, grantId) : undefined;
    if (!key || !grant) throw new ServiceError("NotFoundException", `Grant ${grantId} does not exist.`);
    call.trail.resources.push({ arn: kms.arnOf(key), type: KEY_RESOURCE_TYPE });
    const mayRetire =
      namesCaller(grant.retiringPrincipal, call) ||
      (namesCaller(grant.granteePrincipal, call) && grant.operations.includes("RetireGrant")) ||
      (call.principal.type === "Root" && grant.issuingAccount === rootArn(call.principal.accountId));
    if (!mayRetire)
      throw accessDenied(
        call,
        "kms:RetireGrant",
        keyArn(key.region, key.accountId, key.keyId),
        "because the caller may not retire this grant",
      );
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    await kms.grants.delete(key, grantId);
    return {};
  },
});
