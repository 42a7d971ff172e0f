/** Input shapes shared by the operations, with the bounds of the Secrets Manager model (2017-10-17). */
import { blob, list, str, struct } from "../validation/schema.js";

/** SecretIdType: a name or an ARN. */
export const SecretId = str({ min: 1, max: 2048 });
/** ClientRequestTokenType and SecretVersionIdType: a version's id (the SDKs send a UUID). */
export const ClientRequestToken = str({ min: 32, max: 64 });
export const VersionId = str({ min: 32, max: 64 });
/** SecretVersionStageType and SecretVersionStagesType. */
export const VersionStage = str({ min: 1, max: 256 });
export const VersionStages = list(VersionStage, { min: 1, max: 20 });
/** SecretStringType and SecretBinaryType: up to 65,536 (bytes, checked again after decoding). */
export const SecretString = str({ min: 1, max: 65536 });
export const SecretBinary = blob({ min: 1, max: 65536 });
export const KmsKeyId = str({ min: 0, max: 2048 });
export const Description = str({ max: 2048 });
export const Tags = list(struct({ Key: str({ min: 1, max: 128 }), Value: str({ min: 0, max: 256 }) }));
export const TagKeys = list(str({ min: 1, max: 128 }));
/** FilterNameStringType, FilterValuesStringList and FilterValueStringType (a linear character class). */
export const Filters = list(
  struct({
    Key: { kind: "string", enum: ["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"] },
    Values: list(str({ max: 512, pattern: /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/ }), { min: 1, max: 10 }),
  }),
  { max: 10 },
);
export const NextToken = str({ min: 1, max: 4096 });
export const ResourcePolicy = str({ min: 1, max: 20480 });
