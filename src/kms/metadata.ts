/** KeyMetadata as DescribeKey, CreateKey and friends return it. */
import type { KeyMetadata } from "@aws-sdk/client-kms";
import type { KeyRecord } from "../store/records.js";
import { keyArn } from "./arns.js";
import { algorithmsOf, CUSTOMER_MASTER_KEY_SPECS } from "./key-specs.js";

/** The deprecated CustomerMasterKeySpec field exists only for the specs its enum knows. */
export function customerMasterKeySpec(keySpec: string): string | undefined {
  return (CUSTOMER_MASTER_KEY_SPECS as readonly string[]).includes(keySpec) ? keySpec : undefined;
}

/** The algorithm list DescribeKey and GetPublicKey show: the one of the key's usage. */
export function algorithmFields(keySpec: string, keyUsage: string): Partial<KeyMetadata> {
  const list = [...algorithmsOf(keySpec, keyUsage)];
  switch (keyUsage) {
    case "ENCRYPT_DECRYPT":
      return { EncryptionAlgorithms: list as KeyMetadata["EncryptionAlgorithms"] };
    case "SIGN_VERIFY":
      return { SigningAlgorithms: list as KeyMetadata["SigningAlgorithms"] };
    case "GENERATE_VERIFY_MAC":
      return { MacAlgorithms: list as KeyMetadata["MacAlgorithms"] };
    case "KEY_AGREEMENT":
      return { KeyAgreementAlgorithms: list as KeyMetadata["KeyAgreementAlgorithms"] };
    default:
      return {};
  }
}

export function keyMetadata(key: KeyRecord, currentMaterialId: string | undefined): KeyMetadata {
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
    CustomerMasterKeySpec: customerMasterKeySpec(key.keySpec) as KeyMetadata["CustomerMasterKeySpec"],
    KeySpec: key.keySpec as KeyMetadata["KeySpec"],
    ...algorithmFields(key.keySpec, key.keyUsage),
    ExpirationModel: key.origin === "EXTERNAL" ? (key.expirationModel as KeyMetadata["ExpirationModel"]) : undefined,
    ValidTo: key.origin === "EXTERNAL" && key.validTo !== undefined ? new Date(key.validTo) : undefined,
    MultiRegion: false,
    // Only keys that rotate have a current key material among several (AWS shows it for symmetric keys).
    CurrentKeyMaterialId: key.keySpec === "SYMMETRIC_DEFAULT" ? currentMaterialId : undefined,
  };
}
