/** RevocationConfiguration as CreateCertificateAuthority and UpdateCertificateAuthority check it. */
import { ServiceError } from "../errors.js";
import type { RevocationConfig } from "./service.js";

/** The CRL's validity when ExpirationInDays is not given (AWS's default). */
export const DEFAULT_CRL_EXPIRATION_DAYS = 7;

export function checkRevocation(config: RevocationConfig | undefined): RevocationConfig | undefined {
  if (!config) return undefined;
  const crl = config.CrlConfiguration;
  if (crl?.Enabled) {
    if (!crl.S3BucketName)
      throw new ServiceError("InvalidArgsException", "A CrlConfiguration that is enabled names the S3BucketName the CRL is written to.");
    if (crl.CrlType === "PARTITIONED") {
      throw new ServiceError("InvalidArgsException", "CrlType PARTITIONED is not supported by this keyhold server; use COMPLETE.");
    }
  }
  for (const cname of [crl?.CustomCname, config.OcspConfiguration?.OcspCustomCname]) {
    if (cname && /^https?:\/\//i.test(cname))
      throw new ServiceError("InvalidArgsException", `The CNAME ${cname} must not include a protocol prefix ("http://" or "https://").`);
  }
  return config;
}
