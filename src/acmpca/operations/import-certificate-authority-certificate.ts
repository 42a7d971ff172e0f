import type { ImportCertificateAuthorityCertificateRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { blob, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { toPemString } from "../service.js";
import { Arn } from "../shapes.js";
import { certificateFacts, issuedBy, pemCertificates, pemOrDer, type CertificateFacts } from "../x509.js";
import { mlDsaIssued, subjectKeyIdOf } from "../ml-dsa.js";

/**
 * As AWS checks an imported CA certificate: it is a CA certificate for this CA's key, valid now;
 * a root's is self-signed and takes no chain; a subordinate's is signed by the first certificate
 * of its chain, each chain certificate by the next, up to a self-signed root.
 */
export const importCertificateAuthorityCertificate = defineOperation<ImportCertificateAuthorityCertificateRequest, Record<string, never>>({
  name: "ImportCertificateAuthorityCertificate",
  description: "Install the CA's signed certificate (and for a subordinate, its chain): the CA becomes ACTIVE.",
  readOnly: false,
  input: struct(
    { CertificateAuthorityArn: Arn, Certificate: blob({ min: 1, max: 32768 }), CertificateChain: blob({ min: 0, max: 2097152 }) },
    ["CertificateAuthorityArn", "Certificate"],
  ),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:ImportCertificateAuthorityCertificate");
    pca.requireStatus(ca.body, ["PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED"], "ImportCertificateAuthorityCertificate");
    const der = pemOrDer(Buffer.from(input.Certificate!), "CERTIFICATE");
    const cert = der && certificateFacts(der);
    if (!cert) throw new ServiceError("MalformedCertificateException", "The certificate is not a PEM or DER X.509 certificate.");
    if (!cert.spkiDer.equals(Buffer.from(ca.body.spki, "base64"))) {
      throw new ServiceError(
        "CertificateMismatchException",
        "The certificate's public key is not this certificate authority's key: sign the CSR from GetCertificateAuthorityCsr.",
      );
    }
    if (!cert.isCa || !cert.keyCertSign) {
      throw new ServiceError(
        "InvalidRequestException",
        "The certificate is not a CA certificate (basicConstraints CA:TRUE with keyCertSign).",
      );
    }
    const now = pca.clock.now();
    if (cert.notAfter.getTime() <= now || cert.notBefore.getTime() > now) {
      throw new ServiceError("InvalidRequestException", "The certificate is not valid now.");
    }
    const chainBytes = input.CertificateChain === undefined ? Buffer.alloc(0) : Buffer.from(input.CertificateChain);
    const chainDers = pemCertificates(chainBytes);
    let chainPem: string | undefined;
    if (ca.body.type === "ROOT") {
      if (chainDers.length > 0)
        throw new ServiceError("InvalidRequestException", "A root CA's certificate is self-signed and takes no CertificateChain.");
      if (!selfSigned(cert))
        throw new ServiceError("InvalidRequestException", "A root CA's certificate must be self-signed by its own key.");
    } else {
      if (chainBytes.length > 0 && chainDers.length === 0)
        throw new ServiceError("MalformedCertificateException", "The certificate chain is not PEM certificates.");
      if (chainDers.length === 0)
        throw new ServiceError(
          "InvalidRequestException",
          "A subordinate CA's certificate needs the CertificateChain of the CA that signed it, up to its root.",
        );
      const chain = chainDers.map((d) => certificateFacts(d));
      if (chain.some((c) => c === undefined))
        throw new ServiceError("MalformedCertificateException", "A certificate of the chain does not parse.");
      const links = [cert, ...(chain as CertificateFacts[])];
      for (let i = 0; i + 1 < links.length; i++) {
        const child = links[i]!;
        const parent = links[i + 1]!;
        if (!parent.isCa || !issuedBy(child, parent)) {
          throw new ServiceError(
            "InvalidRequestException",
            `The certificate chain is not valid: certificate ${i} is not signed by the one after it.`,
          );
        }
      }
      if (!selfSigned(links[links.length - 1]!))
        throw new ServiceError("InvalidRequestException", "The certificate chain must end with a self-signed root certificate.");
      chainPem = chainDers.map((d) => toPemString(d)).join("");
    }
    const saved = await pca.save(ca, {
      ...ca.body,
      status: ca.body.status === "DISABLED" ? "DISABLED" : "ACTIVE",
      lastStateChangeAt: ca.body.status === "ACTIVE" ? ca.body.lastStateChangeAt : now,
      certificate: der!.toString("base64"),
      chainPem,
      serial: cert.serialHex,
      notBefore: cert.notBefore.getTime(),
      notAfter: cert.notAfter.getTime(),
      pathLen: cert.pathLen,
    });
    // The CA's first CRL (empty) is there from activation on, as on AWS.
    if (saved.body.revocation?.CrlConfiguration?.Enabled) await pca.publishCrlSoon(saved);
    return {};
  },
});

function selfSigned(c: CertificateFacts): boolean {
  if (!c.subjectDer.equals(c.issuerDer)) return false;
  return mlDsaIssued(c.der, c.spkiDer, subjectKeyIdOf(c.der)) ?? c.x509.verify(c.x509.publicKey);
}
