/** A secret value as a request carries it, checked, and as a response returns it. */
import { timingSafeEqual } from "node:crypto";
import { ServiceError } from "../errors.js";

export interface SecretValue {
  bytes: Buffer;
  binary: boolean;
}

/** SecretString or SecretBinary (not both), at most 65,536 bytes. Undefined when the request has neither. */
export function valueOf(input: { SecretString?: string; SecretBinary?: Uint8Array }): SecretValue | undefined {
  if (input.SecretString !== undefined && input.SecretBinary !== undefined) {
    throw new ServiceError(
      "InvalidParameterException",
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (input.SecretString !== undefined) {
    const bytes = Buffer.from(input.SecretString, "utf8");
    if (bytes.length > 65536) throw new ServiceError("InvalidParameterException", "SecretString must be at most 65536 bytes.");
    return { bytes, binary: false };
  }
  if (input.SecretBinary !== undefined) return { bytes: Buffer.from(input.SecretBinary), binary: true };
  return undefined;
}

/** Whether a stored value is the one a retried request carries (constant time over the bytes). */
export function sameValue(stored: Buffer, storedBinary: boolean, value: SecretValue): boolean {
  if (storedBinary !== value.binary || stored.length !== value.bytes.length) return false;
  return timingSafeEqual(stored, value.bytes);
}

/** The response members of a value. */
export function valueMembers(bytes: Buffer, binary: boolean): { SecretString?: string; SecretBinary?: Uint8Array } {
  return binary ? { SecretBinary: bytes } : { SecretString: bytes.toString("utf8") };
}
