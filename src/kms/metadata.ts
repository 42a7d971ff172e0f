/** KeyMetadata as DescribeKey, CreateKey and friends return it. */
import type { KeyMetadata } from "@aws-sdk/client-kms";
import type { KeyRecord } from "../store/records.js";
import { keyArn } from "./arns.js";
import { KEY_SPECS } from "./key-specs.js";

export function keyMetadata(key: KeyRecord, currentMaterialId: string | undefined): KeyMetadata {
  const spec = KEY_SPECS[key.keySpec];
  const pending = key.keyState === "PendingDeletion";
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: keyArn(key.region, key.accountId, key.keyId),
    CreationDate: new Date(key.creationDate),
    Enabled: key.keyState === "Enabled",
    Description: key.description,
    KeyUsage: key.keyUsage as KeyMetadata["KeyUsage"],
    KeyState: key.keyState as KeyMetadata["KeyState"],
    DeletionDate: pending && key.deletionDate !== undefined ? new Date(key.deletionDate) : undefined,
    PendingDeletionWindowInDays: pending ? key.pendingWindowInDays : undefined,
    Origin: key.origin as KeyMetadata["Origin"],
    KeyManager: key.keyManager as KeyMetadata["KeyManager"],
    CustomerMasterKeySpec: key.keySpec as KeyMetadata["CustomerMasterKeySpec"],
    KeySpec: key.keySpec as KeyMetadata["KeySpec"],
    EncryptionAlgorithms: spec?.encryptionAlgorithms ? ([...spec.encryptionAlgorithms] as KeyMetadata["EncryptionAlgorithms"]) : undefined,
    MultiRegion: false,
    CurrentKeyMaterialId: currentMaterialId,
  };
}
