/** Input shapes shared by several KMS operations, with the bounds of the KMS service model. */
import { blob, bool, enumOf, int, list, map, str, struct } from "../validation/schema.js";
import { ENCRYPTION_ALGORITHMS, MAC_ALGORITHMS, SIGNING_ALGORITHMS } from "./key-specs.js";

export const KeyId = str({ min: 1, max: 2048 });

/**
 * The encryption context. The KMS model bounds neither its pairs nor its size, and AWS documents
 * no limit; keyhold's (docs/limits.md) keep every context that real clients send (S3, Secrets
 * Manager, the Encryption SDK: one to a few pairs of short text) and refuse, before any policy is
 * evaluated or any audit record written, the megabyte of pairs that would make every tenant's
 * calls slow.
 */
export const MAX_ENCRYPTION_CONTEXT_PAIRS = 64;
export const MAX_ENCRYPTION_CONTEXT_CHARACTERS = 8192;
export const EncryptionContext = map(str(), str(), {
  max: MAX_ENCRYPTION_CONTEXT_PAIRS,
  maxTotal: MAX_ENCRYPTION_CONTEXT_CHARACTERS,
});
/**
 * A grant constraint's context, as KMS bounds it: at most 8 pairs, no value longer than 384
 * characters (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html).
 */
export const GrantConstraintContext = map(str(), str({ max: 384 }), { max: 8 });
export const GrantTokens = list(str({ min: 1, max: 8192 }), { min: 0, max: 10 });
export const EncryptionAlgorithm = enumOf(ENCRYPTION_ALGORITHMS);
export const Plaintext = blob({ min: 1, max: 4096 });
export const Ciphertext = blob({ min: 1, max: 6144 });
export const DryRun = bool();
export const Limit = int({ min: 1, max: 1000 });
export const Marker = str({ min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ });
export const AliasName = str({ min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ });
export const Description = str({ min: 0, max: 8192 });
export const NumberOfBytes = int({ min: 1, max: 1024 });
export const DataKeySpec = enumOf(["AES_256", "AES_128"]);
export const Tag = struct({ TagKey: str({ min: 1, max: 128 }), TagValue: str({ min: 0, max: 256 }) }, ["TagKey", "TagValue"]);
/**
 * Bounded by DEFAULT_MAX_ITEMS only: past 50 a key's tags are LimitExceededException, as in
 * AWS (kms/tags.ts), which counts the key's tags, not the request's.
 */
export const Tags = list(Tag);
export const Message = blob({ min: 1, max: 4096 });
export const SignatureBlob = blob({ min: 1, max: 6144 });
export const MacBlob = blob({ min: 1, max: 6144 });
export const PublicKeyBlob = blob({ min: 1, max: 8192 });
export const SigningAlgorithm = enumOf(SIGNING_ALGORITHMS);
export const MacAlgorithm = enumOf(MAC_ALGORITHMS);
export const MessageType = enumOf(["RAW", "DIGEST", "EXTERNAL_MU"]);
export const RecipientInfo = struct({
  KeyEncryptionAlgorithm: enumOf(["RSAES_OAEP_SHA_256"]),
  AttestationDocument: blob({ min: 1, max: 262144 }),
});
