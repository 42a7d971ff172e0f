/** Every STS operation keyhold serves. */
import { assumeRole } from "./operations/assume-role.js";
import { getCallerIdentity } from "./operations/get-caller-identity.js";
import type { StsOperation } from "./service.js";

export const STS_OPERATIONS: readonly StsOperation[] = [getCallerIdentity, assumeRole];
export const STS_OPERATIONS_BY_NAME = new Map(STS_OPERATIONS.map((op) => [op.name, op]));
export const STS_VERSION = "2011-06-15";
export const STS_XML_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
