/**
 * What each key state lets through, per group of operations, as AWS's key-state table states it
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
 */
import { ServiceError, type ErrorCode } from "../errors.js";

export type StateRule =
  /** Encrypt, Decrypt, ReEncrypt, GenerateDataKey* */
  | "cryptographic"
  /** DescribeKey, List*, DeleteAlias, GetKeyRotationStatus: every state */
  | "any"
  | "enableDisable"
  /** CreateAlias, UpdateAlias, TagResource, UntagResource, UpdateKeyDescription, ScheduleKeyDeletion */
  | "manage"
  | "cancelDeletion"
  /** Enable/DisableKeyRotation, RotateKeyOnDemand */
  | "rotation";

type Refusal = { code: ErrorCode; why: string } | undefined;

const PENDING_DELETION: Refusal = { code: "KMSInvalidStateException", why: "is pending deletion" };
const PENDING_IMPORT: Refusal = { code: "KMSInvalidStateException", why: "is pending import" };
/** A key whose custom key store is not connected: managed as usual, used by nothing (AWS's key-state table). */
const UNAVAILABLE: Refusal = { code: "KMSInvalidStateException", why: "is unavailable: its custom key store is not connected" };

const RULES: Record<StateRule, Record<string, Refusal>> = {
  cryptographic: {
    Enabled: undefined,
    Disabled: { code: "DisabledException", why: "is disabled" },
    PendingDeletion: PENDING_DELETION,
    PendingImport: PENDING_IMPORT,
    Unavailable: UNAVAILABLE,
  },
  any: { Enabled: undefined, Disabled: undefined, PendingDeletion: undefined, PendingImport: undefined, Unavailable: undefined },
  enableDisable: {
    Enabled: undefined,
    Disabled: undefined,
    PendingDeletion: PENDING_DELETION,
    PendingImport: PENDING_IMPORT,
    Unavailable: undefined,
  },
  manage: { Enabled: undefined, Disabled: undefined, PendingDeletion: PENDING_DELETION, PendingImport: undefined, Unavailable: undefined },
  cancelDeletion: {
    Enabled: { code: "KMSInvalidStateException", why: "is not pending deletion" },
    Disabled: { code: "KMSInvalidStateException", why: "is not pending deletion" },
    PendingDeletion: undefined,
    PendingImport: { code: "KMSInvalidStateException", why: "is not pending deletion" },
    Unavailable: { code: "KMSInvalidStateException", why: "is not pending deletion" },
  },
  rotation: {
    Enabled: undefined,
    Disabled: { code: "DisabledException", why: "is disabled" },
    PendingDeletion: PENDING_DELETION,
    PendingImport: { code: "UnsupportedOperationException", why: "has imported key material, which cannot be rotated automatically" },
    // AWS does not rotate keys in custom key stores, connected or not.
    Unavailable: { code: "UnsupportedOperationException", why: "is in a custom key store, whose keys cannot be rotated" },
  },
};

export function requireState(rule: StateRule, keyState: string, keyArn: string): void {
  const table = RULES[rule];
  if (!(keyState in table)) throw new ServiceError("KMSInvalidStateException", `${keyArn} is ${keyState}.`);
  const refusal = table[keyState];
  if (refusal) throw new ServiceError(refusal.code, `${keyArn} ${refusal.why}.`);
}
