/**
 * How ACM has a private certificate issued: keyhold's private CA implements PrivateCertificateIssuer
 * (src/acmpca/issuer.ts), on the caller's behalf and through the same authorization path a
 * client's IssueCertificate takes; tests may give ACM another.
 */
import type { PrivateCertificateIssuer } from "../acmpca/issuer.js";

export type { PrivateCertificateIssuer };
export type IssuedCertificate = Awaited<ReturnType<PrivateCertificateIssuer["issue"]>>;
