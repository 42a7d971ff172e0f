/** What Sign and Verify share: finding the key, checking the algorithm and the message type. */
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import type { KeyRecord } from "../store/records.js";
import type { KmsService } from "./service.js";
import { isMlDsa, mlDsaSign, mlDsaVerify, EXTERNAL_MU_LENGTH } from "../crypto/ml-dsa.js";
import { SIGNING, signMessage, verifyMessage } from "../crypto/asymmetric.js";
import { signDigest, supportsDigest, verifyDigest } from "../crypto/digest-signing.js";

export async function signingKey(
  kms: KmsService,
  call: CallContext,
  input: { KeyId?: string; SigningAlgorithm?: string; MessageType?: string; DryRun?: boolean },
): Promise<KeyRecord> {
  const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
  kms.requireAlgorithm(key, "SIGN_VERIFY", input.SigningAlgorithm!, "signing algorithm", call.action.slice(4));
  const type = input.MessageType ?? "RAW";
  if (type === "EXTERNAL_MU" && !isMlDsa(key.keySpec)) {
    throw new ServiceError("ValidationException", "MessageType EXTERNAL_MU is only for ML-DSA keys.");
  }
  if (type === "DIGEST" && isMlDsa(key.keySpec)) {
    throw new ServiceError("ValidationException", "ML-DSA keys take MessageType RAW or EXTERNAL_MU, not DIGEST.");
  }
  if (type === "DIGEST" && !supportsDigest(input.SigningAlgorithm!)) {
    throw new ServiceError(
      "UnsupportedOperationException",
      `MessageType DIGEST with ${input.SigningAlgorithm} is not supported by this keyhold server yet; send the RAW message.`,
    );
  }
  if (input.DryRun) throw new ServiceError("DryRunOperationException");
  return key;
}

/** Signs with the key's own scheme: ML-DSA through @noble/post-quantum, the rest through node:crypto. */
export async function signWith(
  kms: KmsService,
  key: KeyRecord,
  algorithm: string,
  message: Buffer,
  messageType: string | undefined,
): Promise<Buffer> {
  const material = await kms.singleKey(key);
  if (messageType === "DIGEST") return signDigest(algorithm, material, checkDigest(algorithm, message));
  if (!isMlDsa(key.keySpec)) return signMessage(algorithm, material, message);
  const mu = checkMu(messageType, message);
  return mlDsaSign(key.keySpec, material, message, mu);
}

export async function verifyWith(
  kms: KmsService,
  key: KeyRecord,
  algorithm: string,
  message: Buffer,
  signature: Buffer,
  messageType: string | undefined,
): Promise<boolean> {
  const material = await kms.singleKey(key);
  if (messageType === "DIGEST") return verifyDigest(algorithm, material, checkDigest(algorithm, message), signature);
  if (!isMlDsa(key.keySpec)) return verifyMessage(algorithm, material, message, signature);
  return mlDsaVerify(key.keySpec, material, message, signature, checkMu(messageType, message));
}

function checkMu(messageType: string | undefined, message: Buffer): boolean {
  if (messageType !== "EXTERNAL_MU") return false;
  if (message.length !== EXTERNAL_MU_LENGTH) {
    throw new ServiceError("ValidationException", `With MessageType EXTERNAL_MU the message is the ${EXTERNAL_MU_LENGTH}-byte µ.`);
  }
  return true;
}

/** A DIGEST message is the digest itself: its length is the algorithm's hash length. */
function checkDigest(algorithm: string, digest: Buffer): Buffer {
  const length = SIGNING[algorithm]!.digestLength;
  if (digest.length !== length) {
    throw new ServiceError("ValidationException", `With MessageType DIGEST and ${algorithm} the message must be a ${length}-byte digest.`);
  }
  return digest;
}
