/** Secrets Manager operations are service operations run against the Secrets Manager layer. */
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import type { SecretsManagerService } from "./service.js";

export type SecretsManagerOperation = Operation<SecretsManagerService>;

/**
 * CloudTrail never records a secret's value (SecretString, SecretBinary: left out by the audit's
 * redaction wherever they occur); keyhold also leaves out the ClientRequestToken, the idempotency
 * token a retry must repeat, so that the trail's readers cannot replay a write with it.
 */
export function defineOperation<I, O>(spec: OperationSpec<SecretsManagerService, I, O>) {
  return defineServiceOperation<SecretsManagerService, I, O>({
    ...spec,
    run(sm, call, input) {
      if (input && typeof input === "object" && "ClientRequestToken" in input) {
        const { ClientRequestToken: _token, ...rest } = input as Record<string, unknown>;
        call.trail.input = rest;
      }
      return spec.run(sm, call, input);
    },
  });
}
