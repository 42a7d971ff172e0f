import type { GetParametersForImportRequest, GetParametersForImportResponse } from "@aws-sdk/client-kms";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { IMPORT_TOKEN_VALIDITY_MS, WRAPPING_ALGORITHMS, WRAPPING_KEY_BITS, requireExternal } from "../import.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export function importTokenContext(keyId: string, token: string): string {
  return `keyhold:import-wrapping-key:v1:${keyId}:${token}`;
}

export const getParametersForImport = defineOperation<GetParametersForImportRequest, GetParametersForImportResponse>({
  name: "GetParametersForImport",
  description: "Get an RSA wrapping public key and a 24-hour import token for importing key material into an EXTERNAL key.",
  readOnly: true,
  input: struct(
    {
      KeyId,
      WrappingAlgorithm: enumOf([
        "RSAES_PKCS1_V1_5",
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
        "SM2PKE",
      ]),
      WrappingKeySpec: enumOf(["RSA_2048", "RSA_3072", "RSA_4096", "SM2"]),
    },
    ["KeyId", "WrappingAlgorithm", "WrappingKeySpec"],
  ),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    requireExternal(kms.arnOf(key), key);
    if (!WRAPPING_ALGORITHMS.includes(input.WrappingAlgorithm!)) {
      throw new ServiceError(
        "UnsupportedOperationException",
        `WrappingAlgorithm ${input.WrappingAlgorithm} is not supported; use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.`,
      );
    }
    const bits = WRAPPING_KEY_BITS[input.WrappingKeySpec!];
    if (!bits) throw new ServiceError("UnsupportedOperationException", `WrappingKeySpec ${input.WrappingKeySpec} is not supported.`);
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
    const token = randomBytes(32);
    const der = privateKey.export({ type: "pkcs8", format: "der" });
    const validTo = kms.clock.now() + IMPORT_TOKEN_VALIDITY_MS;
    await kms.repo.putImportToken({
      token: token.toString("hex"),
      keyId: key.keyId,
      wrappingAlgorithm: input.WrappingAlgorithm!,
      wrappingKeySpec: input.WrappingKeySpec!,
      wrappedPrivateKey: kms.keystore.wrap(der, importTokenContext(key.keyId, token.toString("hex"))),
      validTo,
    });
    der.fill(0);
    return {
      KeyId: kms.arnOf(key),
      ImportToken: token,
      PublicKey: publicKey.export({ type: "spki", format: "der" }),
      ParametersValidTo: new Date(validTo),
    };
  },
});
