import type { CreateKeyRequest, CreateKeyResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { bool, enumOf, str, struct } from "../../validation/schema.js";
import { ALL_KEY_SPECS, CUSTOMER_MASTER_KEY_SPECS, KEY_SPECS, KEY_USAGES, ORIGINS } from "../key-specs.js";
import { defineOperation } from "../operation.js";
import { importable } from "../import.js";
import { KEY_RESOURCE_TYPE } from "../service.js";
import { checkKeyPolicy, checkLockout, checkPrincipals, defaultKeyPolicy } from "../policy.js";
import { Description, Tags } from "../shapes.js";
import { checkTags } from "../tags.js";
import type { Tag } from "../../store/records.js";
import { checkCustomKeyStoreRequest, createKeyInCustomKeyStore } from "../custom-key-stores/create-key.js";

export const createKey = defineOperation<CreateKeyRequest, CreateKeyResponse>({
  name: "CreateKey",
  description:
    "Create a KMS key — symmetric, RSA, ECC, Ed25519, ML-DSA or HMAC, or EXTERNAL for imported material — with a description, tags and an optional key policy.",
  readOnly: false,
  input: struct({
    Policy: str({ min: 1, max: 131072 }),
    Description,
    KeyUsage: enumOf(KEY_USAGES),
    CustomerMasterKeySpec: enumOf(CUSTOMER_MASTER_KEY_SPECS),
    KeySpec: enumOf(ALL_KEY_SPECS),
    Origin: enumOf(ORIGINS),
    CustomKeyStoreId: str({ min: 1, max: 64 }),
    BypassPolicyLockoutSafetyCheck: bool(),
    Tags,
    MultiRegion: bool(),
    XksKeyId: str({ min: 1, max: 128, pattern: /^[a-zA-Z0-9-_.]+$/ }),
  }),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    // Tags can grant access (aws:ResourceTag conditions): tagging at creation needs kms:TagResource too, as in AWS.
    if (input.Tags !== undefined && input.Tags.length > 0) await kms.authorizeAccount(call, { action: "kms:TagResource" });
    // The messages of this check and the next are AWS's own, word for word: tools match on them.
    if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
      throw new ServiceError(
        "ValidationException",
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
      );
    }
    const keySpec = input.KeySpec ?? input.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
    const spec = KEY_SPECS[keySpec];
    if (!spec) throw new ServiceError("UnsupportedOperationException", `KeySpec ${keySpec} is not supported by this keyhold server yet.`);
    const keyUsage = checkKeyUsage(keySpec, spec.kind, spec.usages, input.KeyUsage);
    const origin = input.Origin ?? "AWS_KMS";
    // Custom key stores (issue 20): the request's checks, before any policy or material work.
    const customKeyStoreId = await checkCustomKeyStoreRequest(kms, call, input.CustomKeyStoreId, origin, keySpec);
    if (origin === "EXTERNAL" && !importable(keySpec)) {
      throw new ServiceError("UnsupportedOperationException", `Importing key material is not supported for ${keySpec} keys.`);
    }
    if (origin !== "AWS_KMS" && origin !== "EXTERNAL" && origin !== "AWS_CLOUDHSM") {
      throw new ServiceError(
        "UnsupportedOperationException",
        `Origin ${origin} needs a custom key store, which this keyhold server does not have yet.`,
      );
    }
    if (input.XksKeyId !== undefined)
      throw new ServiceError("ValidationException", "XksKeyId is only valid with Origin EXTERNAL_KEY_STORE.");
    if (input.MultiRegion)
      throw new ServiceError("UnsupportedOperationException", "Multi-Region keys are not supported by this keyhold server.");
    const policy = input.Policy ?? defaultKeyPolicy(call.accountId);
    const compiled = checkKeyPolicy(policy);
    const tags = checkTags((input.Tags ?? []) as Tag[]);

    const now = kms.clock.now();
    const keyId = kms.newKeyId();
    const record = {
      keyId,
      accountId: call.accountId,
      region: call.region,
      description: input.Description ?? "",
      // An EXTERNAL key has no material until ImportKeyMaterial: PendingImport, version 0.
      keyState: origin === "EXTERNAL" ? "PendingImport" : "Enabled",
      keySpec,
      keyUsage,
      origin,
      keyManager: "CUSTOMER",
      policy,
      creationDate: now,
      rotationEnabled: false,
      onDemandRotations: 0,
      currentVersion: origin === "EXTERNAL" ? 0 : 1,
      customKeyStoreId,
    };
    if (input.Policy !== undefined) {
      await checkPrincipals(kms, compiled);
      await checkLockout(kms, call, compiled, record, input.BypassPolicyLockoutSafetyCheck);
    }
    if (customKeyStoreId !== undefined) {
      await createKeyInCustomKeyStore(kms, call, record, tags);
    } else {
      const first = origin === "EXTERNAL" ? undefined : kms.newVersion(keyId, keySpec, 1);
      await kms.repo.createKey(record, first, tags);
    }
    call.trail.resources.push({ arn: kms.arnOf(record), type: KEY_RESOURCE_TYPE });
    return { KeyMetadata: await kms.describe(record) };
  },
});

/**
 * The key usage a CreateKey asks for, refused as AWS refuses it and in AWS's words: KeyUsage
 * defaults to ENCRYPT_DECRYPT for a symmetric encryption key and is required for any other
 * ("This parameter is optional when you are creating a symmetric encryption KMS key; otherwise,
 * it is required", API_CreateKey); a symmetric key takes ENCRYPT_DECRYPT only.
 */
function checkKeyUsage(keySpec: string, kind: string, usages: Readonly<Record<string, unknown>>, asked: string | undefined): string {
  if (keySpec === "SYMMETRIC_DEFAULT") {
    if (asked !== undefined && asked !== "ENCRYPT_DECRYPT") {
      throw new ServiceError(
        "ValidationException",
        `The operation failed because the KeyUsage value of the CMK is ${asked}. To perform this operation, the KeyUsage value must be ENCRYPT_DECRYPT.`,
      );
    }
    return "ENCRYPT_DECRYPT";
  }
  if (asked === undefined) {
    throw new ServiceError(
      "ValidationException",
      `You must specify a KeyUsage value for an ${kind === "hmac" ? "HMAC" : "asymmetric"} CMK.`,
    );
  }
  if (!(asked in usages)) throw new ServiceError("ValidationException", `KeyUsage ${asked} is not compatible with KeySpec ${keySpec}`);
  return asked;
}
