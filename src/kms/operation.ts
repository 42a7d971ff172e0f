/** KMS operations are service operations run against the KMS layer. */
import type { CallContext } from "../call.js";
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { KmsService } from "./service.js";

export type KmsOperation = Operation<KmsService>;

export function defineOperation<I, O>(spec: OperationSpec<KmsService, I, O>) {
  if (spec.readOnly) return defineServiceOperation<KmsService, I, O>(spec);
  return defineServiceOperation<KmsService, I, O>({
    ...spec,
    async run(kms, call, input) {
      const output = await spec.run(kms, call, input);
      recordAffectedKey(call, output);
      return output;
    },
  });
}

/**
 * CloudTrail has recorded, since December 2022, the ARN of the key a KMS change acted on in its
 * event's responseElements.keyId, even when the operation answers without it (DisableKey,
 * CreateGrant, …). Done here when the call acted on one key and its answer names none.
 */
function recordAffectedKey(call: CallContext, output: unknown): void {
  const answer = (output ?? {}) as { KeyId?: unknown; KeyMetadata?: unknown };
  if (answer.KeyId !== undefined || answer.KeyMetadata !== undefined) return;
  const keys = call.trail.resources.filter((r) => r.arn.includes(":key/"));
  if (keys.length === 1) call.trail.answered = { keyId: keys[0]!.arn };
}
