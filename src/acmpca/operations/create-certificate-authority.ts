import type { CreateCertificateAuthorityRequest, CreateCertificateAuthorityResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import * as x509 from "@peculiar/asn1-x509";
import { defineOperation } from "../operation.js";
import { checkRevocation } from "../revocation.js";
import type { HsmKeyRef } from "../hsm-keys.js";
import { KEY_ALGORITHMS, MAX_TAGS, toPemString, type AuthorityBody } from "../service.js";
import { CertificateAuthorityConfiguration, IdempotencyToken, RevocationConfiguration, Tags } from "../shapes.js";
import { extension, OID, SIGNING_ALGORITHMS, signCsr, subjectName, type Asn1Subject } from "../x509.js";
import { apiExtensions, generalName, type GeneralNameInput } from "../issue.js";

/** A retried CreateCertificateAuthority with the same IdempotencyToken within 5 minutes returns the first CA. */
const IDEMPOTENCY_MS = 5 * 60_000;

export const createCertificateAuthority = defineOperation<CreateCertificateAuthorityRequest, CreateCertificateAuthorityResponse>({
  name: "CreateCertificateAuthority",
  description:
    "Create a root or subordinate private CA: its key is made and sealed in keyhold; it waits for its certificate (PENDING_CERTIFICATE).",
  readOnly: false,
  input: struct(
    {
      CertificateAuthorityConfiguration,
      RevocationConfiguration,
      CertificateAuthorityType: enumOf(["ROOT", "SUBORDINATE"]),
      IdempotencyToken,
      KeyStorageSecurityStandard: enumOf(["FIPS_140_2_LEVEL_2_OR_HIGHER", "FIPS_140_2_LEVEL_3_OR_HIGHER", "CCPC_LEVEL_1_OR_HIGHER"]),
      Tags,
      UsageMode: enumOf(["GENERAL_PURPOSE", "SHORT_LIVED_CERTIFICATE"]),
    },
    ["CertificateAuthorityConfiguration", "CertificateAuthorityType"],
  ),
  async run(pca, call, input) {
    const config = input.CertificateAuthorityConfiguration!;
    const keySpec = KEY_ALGORITHMS[config.KeyAlgorithm!];
    if (!keySpec) {
      throw new ServiceError(
        "InvalidArgsException",
        `KeyAlgorithm ${config.KeyAlgorithm} is not supported by this keyhold server (RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1, EC_secp521r1 and ML_DSA_44/65/87 are: docs/private-ca.md).`,
      );
    }
    if (SIGNING_ALGORITHMS[config.SigningAlgorithm!]?.family !== keySpec.family) {
      throw new ServiceError(
        "InvalidArgsException",
        `SigningAlgorithm ${config.SigningAlgorithm} does not match KeyAlgorithm ${config.KeyAlgorithm}.`,
      );
    }
    const subject = subjectName(config.Subject as Asn1Subject);
    if (subject.length === 0) throw new ServiceError("InvalidArgsException", "The CA's Subject must name at least one attribute.");
    if ((input.KeyStorageSecurityStandard as string | undefined) === "CCPC_LEVEL_1_OR_HIGHER") {
      throw new ServiceError(
        "InvalidArgsException",
        "KeyStorageSecurityStandard CCPC_LEVEL_1_OR_HIGHER is only offered in AWS's Asia Pacific (Seoul) region.",
      );
    }
    const revocation = checkRevocation(input.RevocationConfiguration as AuthorityBody["revocation"]);
    const tags = (input.Tags ?? []).map((t) => ({ Key: t.Key!, Value: t.Value }));
    if (tags.length > MAX_TAGS) throw new ServiceError("TooManyTagsException", `A certificate authority has at most ${MAX_TAGS} tags.`);
    await pca.authorize(call, "acm-pca:CreateCertificateAuthority", undefined, tags);
    const { arn, id } = pca.newArn(call);
    // With the CA's own ARN: a bucket policy may name it in aws:SourceArn.
    if (revocation?.CrlConfiguration?.Enabled) await pca.checkCrlBucket(call, revocation, arn);

    const now = pca.clock.now();
    if (input.IdempotencyToken !== undefined) {
      const earlier = await pca.byCreateToken(call, input.IdempotencyToken, now - IDEMPOTENCY_MS);
      if (earlier) {
        pca.trailResource(call, earlier);
        return { CertificateAuthorityArn: earlier };
      }
    }
    const standard = input.KeyStorageSecurityStandard ?? "FIPS_140_2_LEVEL_3_OR_HIGHER";
    const { wrappedKey, spki, hsmKey }: { wrappedKey: string; spki: Buffer; hsmKey?: HsmKeyRef } = pca.keyInHsm(
      config.KeyAlgorithm!,
      standard,
    )
      ? { wrappedKey: "", ...(await pca.newHsmKey(id, config.KeyAlgorithm!)) }
      : await pca.newKey(arn, config.KeyAlgorithm!);
    const csrExtensions: x509.Extension[] = [];
    const ku = config.CsrExtensions?.KeyUsage;
    if (ku) csrExtensions.push(...apiExtensions({ KeyUsage: ku as Record<string, boolean> }));
    const sia = config.CsrExtensions?.SubjectInformationAccess;
    if (sia && sia.length > 0) {
      const methods: Record<string, string> = {
        CA_REPOSITORY: "1.3.6.1.5.5.7.48.5",
        RESOURCE_PKI_MANIFEST: "1.3.6.1.5.5.7.48.10",
        RESOURCE_PKI_NOTIFY: "1.3.6.1.5.5.7.48.13",
      };
      const access = sia.map(
        (d) =>
          new x509.AccessDescription({
            accessMethod: d.AccessMethod!.CustomObjectIdentifier ?? methods[d.AccessMethod!.AccessMethodType!]!,
            accessLocation: generalName(d.AccessLocation as GeneralNameInput),
          }),
      );
      csrExtensions.push(extension(OID.subjectInfoAccess, false, new x509.AuthorityInfoAccessSyntax(access)));
    }
    const body: AuthorityBody = {
      arn,
      id,
      region: call.region,
      type: input.CertificateAuthorityType as AuthorityBody["type"],
      status: "PENDING_CERTIFICATE",
      createdAt: now,
      lastStateChangeAt: now,
      configuration: config as AuthorityBody["configuration"],
      revocation,
      usageMode: input.UsageMode ?? "GENERAL_PURPOSE",
      keyStorageSecurityStandard: standard,
      wrappedKey,
      hsmKey,
      spki: spki.toString("base64"),
      csrPem: "",
      tags,
      permissions: [],
      idempotency: input.IdempotencyToken === undefined ? undefined : { token: input.IdempotencyToken, at: now },
      crlNumber: 0,
    };
    try {
      const csr = await signCsr(subject, spki, config.SigningAlgorithm!, csrExtensions, pca.signer(body));
      body.csrPem = toPemString(csr, "CERTIFICATE REQUEST");
      if (!(await pca.create(call.accountId, body))) throw new Error(`certificate authority id ${id} collided`);
    } catch (error) {
      // Nothing half-made: a key generated in the HSM for a CA that was not stored goes again.
      await pca.destroyHsmKey(body).catch(() => undefined);
      throw error;
    }
    pca.trailResource(call, arn);
    return { CertificateAuthorityArn: arn };
  },
});
