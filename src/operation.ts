/**
 * A service operation: its wire name, a one-line description (for `keyhold operations` and the
 * console), whether it only reads, its input schema, and a plain async function from the SDK's
 * request type to its response type. `S` is the service it runs against (KMS, CloudTrail, …).
 */
import type { CallContext } from "./call.js";
import { decode, type Schema } from "./validation/schema.js";

export interface Operation<S> {
  readonly name: string;
  readonly description: string;
  /** As CloudTrail's readOnly: true for reads and for KMS cryptographic operations. */
  readonly readOnly: boolean;
  /** The input's shape, with the service model's bounds. */
  readonly input: Schema;
  /** Decodes and validates the raw JSON input, then runs the operation. */
  handle(service: S, call: CallContext, raw: unknown): Promise<unknown>;
}

export interface OperationSpec<S, I, O> {
  name: string;
  description: string;
  readOnly: boolean;
  input: Schema;
  run(service: S, call: CallContext, input: I): Promise<O>;
}

export function defineServiceOperation<S, I, O>(spec: OperationSpec<S, I, O>): Operation<S> & { run: OperationSpec<S, I, O>["run"] } {
  return {
    name: spec.name,
    description: spec.description,
    readOnly: spec.readOnly,
    input: spec.input,
    run: spec.run,
    handle: (service, call, raw) => {
      const input = decode<I>(spec.input, raw);
      call.trail.input = input;
      return spec.run(service, call, input);
    },
  };
}
