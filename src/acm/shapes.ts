/** Input shapes shared by the operations, with the bounds of the ACM model (2015-12-08). */
import { list, str, struct } from "../validation/schema.js";

/** Arn: the model's bounds; the service checks the form of a certificate ARN (InvalidArnException). */
export const CertificateArn = str({ min: 20, max: 2048 });
/** PcaArn. */
export const CertificateAuthorityArn = str({
  min: 20,
  max: 2048,
  pattern: /^arn:[\w+=/,.@-]+:acm-pca:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(\/[\w+=,.@-]+)*$/,
});
/** TagKey and TagValue: characters are checked by the service (InvalidTagException, as ACM answers). */
export const Tag = struct({ Key: str({ min: 1, max: 128 }), Value: str({ min: 0, max: 256 }) }, ["Key"]);
export const Tags = list(Tag, { min: 1, max: 50 });
/** IdempotencyToken: \w+, 1–32. */
export const IdempotencyToken = str({ min: 1, max: 32, pattern: /^\w+$/ });
/** DomainNameString: an FQDN, optionally with a leading wildcard label. */
export const DomainName = str({
  min: 1,
  max: 253,
  pattern: /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/,
});
export const KEY_ALGORITHM_NAMES = [
  "RSA_1024",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "EC_prime256v1",
  "EC_secp384r1",
  "EC_secp521r1",
] as const;
export const CERTIFICATE_STATUSES = [
  "PENDING_VALIDATION",
  "ISSUED",
  "INACTIVE",
  "EXPIRED",
  "VALIDATION_TIMED_OUT",
  "REVOKED",
  "FAILED",
] as const;
export const EXTENDED_KEY_USAGE_NAMES = [
  "TLS_WEB_SERVER_AUTHENTICATION",
  "TLS_WEB_CLIENT_AUTHENTICATION",
  "CODE_SIGNING",
  "EMAIL_PROTECTION",
  "TIME_STAMPING",
  "OCSP_SIGNING",
  "IPSEC_END_SYSTEM",
  "IPSEC_TUNNEL",
  "IPSEC_USER",
  "ANY",
  "NONE",
  "CUSTOM",
] as const;
export const KEY_USAGE_NAMES = [
  "DIGITAL_SIGNATURE",
  "NON_REPUDIATION",
  "KEY_ENCIPHERMENT",
  "DATA_ENCIPHERMENT",
  "KEY_AGREEMENT",
  "CERTIFICATE_SIGNING",
  "CRL_SIGNING",
  "ENCIPHER_ONLY",
  "DECIPHER_ONLY",
  "ANY",
  "CUSTOM",
] as const;
