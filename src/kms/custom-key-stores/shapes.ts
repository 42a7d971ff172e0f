/** Input shapes of the custom key store operations, with the KMS model's bounds. */
import { enumOf, str, struct } from "../../validation/schema.js";

export const CustomKeyStoreId = str({ min: 1, max: 64 });
export const CustomKeyStoreName = str({ min: 1, max: 256 });
export const CloudHsmClusterId = str({ min: 19, max: 24, pattern: /^cluster-[2-7a-zA-Z]{11,16}$/ });
export const TrustAnchorCertificate = str({ min: 1, max: 5000 });
/** The token user's PIN: sensitive in the model, never logged (audit/record.ts NEVER_LOGGED). */
export const KeyStorePassword = str({ min: 7, max: 32 });
export const CustomKeyStoreType = enumOf(["AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]);

/** The external key store members (keyhold serves AWS_CLOUDHSM stores only): bounded, then refused. */
export const XKS_MEMBERS = {
  XksProxyUriEndpoint: str({ min: 10, max: 128 }),
  XksProxyUriPath: str({ min: 10, max: 128 }),
  XksProxyVpcEndpointServiceName: str({ min: 20, max: 64 }),
  XksProxyVpcEndpointServiceOwner: str({ min: 12, max: 12 }),
  XksProxyAuthenticationCredential: struct({ AccessKeyId: str({ min: 20, max: 30 }), RawSecretAccessKey: str({ min: 43, max: 64 }) }),
  XksProxyConnectivity: enumOf(["PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE"]),
};
