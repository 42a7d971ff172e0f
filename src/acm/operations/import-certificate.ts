import type { ImportCertificateRequest, ImportCertificateResponse } from "@aws-sdk/client-acm";
import type { X509Certificate } from "node:crypto";
import { ServiceError } from "../../errors.js";
import { blob, struct } from "../../validation/schema.js";
import { keyAlgorithmOf, keysMatch, parseImportedPrivateKey, pkcs8Der } from "../keys.js";
import { defineOperation } from "../operation.js";
import { checkTags, type CertificateBody } from "../service.js";
import { CertificateArn, Tags } from "../shapes.js";
import { certificateFacts, parseCertificate, pemCertificates } from "../x509.js";

/** At most this many certificates in a chain: a chain is a handful; 2 MiB of PEM would be thousands. */
const MAX_CHAIN = 10;

export const importCertificate = defineOperation<ImportCertificateRequest, ImportCertificateResponse>({
  name: "ImportCertificate",
  description: "Import a certificate, its private key and chain, or re-import one to an existing ARN.",
  readOnly: false,
  input: struct(
    {
      CertificateArn,
      Certificate: blob({ min: 1, max: 32768 }),
      PrivateKey: blob({ min: 1, max: 5120 }),
      CertificateChain: blob({ min: 1, max: 2097152 }),
      Tags,
    },
    ["Certificate", "PrivateKey"],
  ),
  async run(acm, call, input) {
    // Bounded, cheap checks first; the private key is parsed only once the certificate is sound.
    const certs = pemCertificates(Buffer.from(input.Certificate!).toString("latin1"));
    if (certs.length !== 1)
      throw new ServiceError(
        "ValidationException",
        certs.length === 0
          ? "The certificate field does not hold a PEM-encoded certificate."
          : "The certificate field contains more than one certificate. You can specify only one certificate in this field.",
      );
    const cert = parseCertificate(certs[0]!, "certificate");
    const chainDer = input.CertificateChain ? pemCertificates(Buffer.from(input.CertificateChain).toString("latin1")) : [];
    if (input.CertificateChain && chainDer.length === 0)
      throw new ServiceError("ValidationException", "The certificate chain does not hold a PEM-encoded certificate.");
    if (chainDer.length > MAX_CHAIN)
      throw new ServiceError("ValidationException", `A certificate chain holds at most ${MAX_CHAIN} certificates.`);
    const chain = chainDer.map((d, i) => parseCertificate(d, `certificate ${i + 1} of the chain`));
    if (cert.issuer.trim() === "") throw new ServiceError("ValidationException", "The certificate's Issuer field is empty.");
    const now = acm.clock.now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now)
      throw new ServiceError(
        "ValidationException",
        "The certificate is not valid now: the current time must be between its Not Before and Not After.",
      );
    const keyAlgorithm = keyAlgorithmOf(cert.publicKey);
    if (!keyAlgorithm)
      throw new ServiceError(
        "ValidationException",
        "The certificate's key algorithm is not one ACM supports (RSA 1024–4096, EC P-256, P-384, P-521).",
      );
    checkChain(cert, chain);
    const key = parseImportedPrivateKey(Buffer.from(input.PrivateKey!));
    if (!keysMatch(key, cert.publicKey))
      throw new ServiceError("ValidationException", "The private key does not match the public key in the certificate.");
    const facts = await certificateFacts(certs[0]!);
    const chainPem = chain.length ? chain.map((c) => c.toString()).join("") : undefined;
    const certificatePem = cert.toString();

    if (input.CertificateArn !== undefined) {
      // Re-import: the same ARN, tags and associations; a new certificate and key.
      if (input.Tags?.length)
        throw new ServiceError("InvalidParameterException", "Tags cannot be applied when re-importing a certificate.");
      const existing = await acm.require(call, input.CertificateArn, "acm:ImportCertificate");
      if (existing.body.type !== "IMPORTED")
        throw new ServiceError(
          "ValidationException",
          `Certificate ${input.CertificateArn} was not imported; only imported certificates can be re-imported.`,
        );
      const body: CertificateBody = {
        ...existing.body,
        status: "ISSUED",
        keyAlgorithm,
        facts,
        certificatePem,
        chainPem,
        importedAt: now,
        ...acm.wrapKey(existing.body.arn, pkcs8Der(key)),
      };
      await acm.save(existing, body, true);
      return { CertificateArn: body.arn };
    }

    const tags = checkTags(input.Tags ?? []);
    const arn = acm.newArn(call);
    await acm.authorizer.require(call, { action: "acm:ImportCertificate", resource: arn, resourceAccount: call.accountId });
    if (tags.length)
      await acm.authorizer.require(call, { action: "acm:AddTagsToCertificate", resource: arn, resourceAccount: call.accountId });
    await acm.create(call, {
      arn,
      region: call.region,
      type: "IMPORTED",
      status: "ISSUED",
      keyAlgorithm,
      facts,
      certificatePem,
      chainPem,
      createdAt: now,
      importedAt: now,
      tags,
      ...acm.wrapKey(arn, pkcs8Der(key)),
    });
    acm.trailResource(call, arn);
    return { CertificateArn: arn };
  },
});

/**
 * The chain must lead from the certificate upwards: each certificate issued and signed by the
 * next one (the first by chain[0]); a self-signed last certificate must verify under its own key.
 */
function checkChain(cert: X509Certificate, chain: X509Certificate[]): void {
  const fail = () => {
    throw new ServiceError("ValidationException", "Could not validate the certificate with the certificate chain.");
  };
  let child = cert;
  for (const parent of chain) {
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) fail();
    child = parent;
  }
  if (chain.length && child.checkIssued(child) && !child.verify(child.publicKey)) fail();
}
