/**
 * A KMS operation: its wire name, a one-line description (for `keyhold --help` and the console),
 * its input schema and a plain async function from the SDK's request type to its response type.
 */
import type { CallContext } from "../call.js";
import { decode, type Schema } from "../validation/schema.js";
import type { KmsService } from "./service.js";

export interface KmsOperation {
  readonly name: string;
  readonly description: string;
  readonly readOnly: boolean;
  /** Decodes and validates the raw JSON input, then runs the operation. */
  handle(kms: KmsService, call: CallContext, raw: unknown): Promise<unknown>;
}

export interface OperationSpec<I, O> {
  name: string;
  description: string;
  readOnly: boolean;
  input: Schema;
  run(kms: KmsService, call: CallContext, input: I): Promise<O>;
}

export function defineOperation<I, O>(spec: OperationSpec<I, O>): KmsOperation & { run: OperationSpec<I, O>["run"] } {
  return {
    name: spec.name,
    description: spec.description,
    readOnly: spec.readOnly,
    run: spec.run,
    handle: (kms, call, raw) => spec.run(kms, call, decode<I>(spec.input, raw)),
  };
}
