/** STS: who the caller is, and temporary credentials for role sessions. */
import type { Clock } from "../clock.js";
import type { Authorizer } from "../iam/authorizer.js";
import type { Credentials } from "../iam/credentials.js";
import type { Directory } from "../iam/directory.js";
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";

export interface StsDependencies {
  directory: Directory;
  credentials: Credentials;
  authorizer: Authorizer;
  clock: Clock;
}

export class StsService {
  readonly directory: Directory;
  readonly credentials: Credentials;
  readonly authorizer: Authorizer;
  readonly clock: Clock;

  constructor(deps: StsDependencies) {
    this.directory = deps.directory;
    this.credentials = deps.credentials;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
  }
}

export type StsOperation = Operation<StsService>;

export function defineStsOperation<I, O>(spec: OperationSpec<StsService, I, O>) {
  return defineServiceOperation<StsService, I, O>(spec);
}
