/** What the custom key store operations share. */
import { ServiceError } from "../../../errors.js";
import type { KmsService } from "../../service.js";
import type { CustomKeyStores } from "../stores.js";

/** The stores of this server; a server without them has none to find. */
export function customKeyStores(kms: KmsService): CustomKeyStores {
  if (!kms.customKeyStores) throw new ServiceError("CustomKeyStoreNotFoundException", "This keyhold server has no custom key stores.");
  return kms.customKeyStores;
}

const XKS = [
  "XksProxyUriEndpoint",
  "XksProxyUriPath",
  "XksProxyVpcEndpointServiceName",
  "XksProxyVpcEndpointServiceOwner",
  "XksProxyAuthenticationCredential",
  "XksProxyConnectivity",
] as const;

/** External key store members on an AWS_CLOUDHSM store are the caller's mistake. */
export function refuseXks(input: object): void {
  const given = XKS.filter((m) => (input as Record<string, unknown>)[m] !== undefined);
  if (given.length > 0) {
    throw new ServiceError(
      "ValidationException",
      `${given.join(", ")} apply to external key stores only, not to an AWS_CLOUDHSM custom key store.`,
    );
  }
}
