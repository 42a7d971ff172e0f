/** KMS keys have exactly one key policy, named "default". */
import { ServiceError } from "../errors.js";

export const POLICY_NAME = "default";

export function requirePolicyName(name: string | undefined): void {
  if (name !== undefined && name !== POLICY_NAME) {
    throw new ServiceError("NotFoundException", `Key policy '${name}' does not exist; a KMS key has one policy, named '${POLICY_NAME}'.`);
  }
}
