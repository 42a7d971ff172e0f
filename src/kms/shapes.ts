/** Input shapes shared by several KMS operations, with the bounds of the KMS service model. */
import { blob, bool, enumOf, int, list, map, str, struct } from "../validation/schema.js";
import { ENCRYPTION_ALGORITHMS, MAC_ALGORITHMS, SIGNING_ALGORITHMS } from "./key-specs.js";

export const KeyId = str({ min: 1, max: 2048 });
export const EncryptionContext = map(str(), str());
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
