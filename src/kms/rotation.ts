/**
 * Rotation adds a key version and makes it current; older versions stay and keep decrypting.
 * Shared by RotateKeyOnDemand and the scheduler's automatic rotation.
 */
import { DAY_MS } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { KeyPatch } from "../store/repository.js";
import type { KeyRecord, KeyVersionRecord } from "../store/records.js";
import { KEY_SPECS } from "./key-specs.js";
import type { KmsService } from "./service.js";

export const DEFAULT_ROTATION_PERIOD_DAYS = 365;
export const MAX_ON_DEMAND_ROTATIONS = 10;

/** Automatic and on-demand rotation apply to symmetric keys whose material KMS generated. */
export function requireRotatable(kms: KmsService, key: KeyRecord): void {
  if (!KEY_SPECS[key.keySpec]?.rotatable || key.origin !== "AWS_KMS") {
    throw new ServiceError("UnsupportedOperationException", `${kms.arnOf(key)} does not support key rotation.`);
  }
}

/** Returns false when another rotation of the same key won the race. */
export async function rotateKey(kms: KmsService, key: KeyRecord, type: NonNullable<KeyVersionRecord["rotationType"]>): Promise<boolean> {
  const version = kms.newVersion(key.keyId, key.keySpec, key.currentVersion + 1, type);
  const patch: KeyPatch =
    type === "ON_DEMAND"
      ? { onDemandRotations: key.onDemandRotations + 1 }
      : { nextRotationDate: version.createdAt + (key.rotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS) * DAY_MS };
  return kms.repo.addKeyVersion(version, key.currentVersion, patch);
}
