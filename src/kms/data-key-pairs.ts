/** The key pair GenerateDataKeyPair and …WithoutPlaintext make: the private key returned encrypted under a symmetric KMS key. */
import { createPrivateKey } from "node:crypto";
import type { CallContext } from "../call.js";
import { publicKeyDer } from "../crypto/asymmetric.js";
import type { EncryptionContext } from "../crypto/encryption-context.js";
import { ServiceError } from "../errors.js";
import { KEY_SPECS } from "./key-specs.js";
import type { KmsService } from "./service.js";

export interface DataKeyPairRequest {
  KeyId?: string;
  KeyPairSpec?: string;
  EncryptionContext?: EncryptionContext;
  DryRun?: boolean;
}

export async function generateDataKeyPair(kms: KmsService, call: CallContext, input: DataKeyPairRequest) {
  const spec = KEY_SPECS[input.KeyPairSpec!];
  if (!spec || spec.kind === "aes" || spec.kind === "hmac") {
    throw new ServiceError("UnsupportedOperationException", `KeyPairSpec ${input.KeyPairSpec} is not supported by this keyhold server.`);
  }
  const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
  kms.requireEncryptionAlgorithm(key, undefined, call.action.slice(4));
  if (input.DryRun) throw new ServiceError("DryRunOperationException");
  const privateKey = spec.generate();
  const publicKey = publicKeyDer(createPrivateKey({ key: privateKey, format: "der", type: "pkcs8" }));
  const { blob, materialId } = await kms.encrypt(key, privateKey, input.EncryptionContext);
  call.trail.additional = { ...call.trail.additional, keyMaterialId: materialId };
  return { key, privateKey, publicKey, blob, materialId };
}
