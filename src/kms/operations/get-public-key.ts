import type { GetPublicKeyRequest, GetPublicKeyResponse } from "@aws-sdk/client-kms";
import { publicKeyDer } from "../../crypto/asymmetric.js";
import { isMlDsa, mlDsaPublicKeyDer } from "../../crypto/ml-dsa.js";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { KEY_SPECS } from "../key-specs.js";
import { algorithmFields, customerMasterKeySpec } from "../metadata.js";
import { defineOperation } from "../operation.js";
import { GrantTokens, KeyId } from "../shapes.js";

export const getPublicKey = defineOperation<GetPublicKeyRequest, GetPublicKeyResponse>({
  name: "GetPublicKey",
  description: "Return an asymmetric key's public key (DER SubjectPublicKeyInfo) with its spec, usage and algorithms.",
  readOnly: true,
  input: struct({ KeyId, GrantTokens }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
    const kind = KEY_SPECS[key.keySpec]?.kind;
    if (kind !== "rsa" && kind !== "ec" && kind !== "ed25519" && kind !== "mldsa") {
      throw new ServiceError("UnsupportedOperationException", `${kms.arnOf(key)} is a ${key.keySpec} key, which has no public key.`);
    }
    return {
      KeyId: kms.arnOf(key),
      PublicKey: isMlDsa(key.keySpec) ? mlDsaPublicKeyDer(key.keySpec, await kms.singleKey(key)) : publicKeyDer(await kms.singleKey(key)),
      CustomerMasterKeySpec: customerMasterKeySpec(key.keySpec) as GetPublicKeyResponse["CustomerMasterKeySpec"],
      KeySpec: key.keySpec as GetPublicKeyResponse["KeySpec"],
      KeyUsage: key.keyUsage as GetPublicKeyResponse["KeyUsage"],
      ...algorithmFields(key.keySpec, key.keyUsage),
    };
  },
});
