/**
 * The AWS CloudHSM V2 API, read-only: DescribeClusters lists the HSM clusters registered with
 * `keyhold hsm cluster create`, so `aws cloudhsmv2 describe-clusters` shows what a custom key
 * store's CloudHsmClusterId names. Clusters are made and changed with the keyhold command only.
 */
import type { Operation } from "../operation.js";
import type { KmsService } from "../kms/service.js";
import { describeClusters } from "./operations/describe-clusters.js";

export const CLOUDHSMV2_TARGET_PREFIX = "BaldrApiService";
export const CLOUDHSMV2_OPERATIONS: readonly Operation<KmsService>[] = [describeClusters];
export const CLOUDHSMV2_OPERATIONS_BY_NAME: ReadonlyMap<string, Operation<KmsService>> = new Map(
  CLOUDHSMV2_OPERATIONS.map((op) => [op.name, op]),
);
