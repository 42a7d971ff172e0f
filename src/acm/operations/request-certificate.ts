import type { RequestCertificateRequest, RequestCertificateResponse } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { enumOf, list, struct } from "../../validation/schema.js";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../keys.js";
import { defineOperation } from "../operation.js";
import { checkTags, type CertificateBody } from "../service.js";
import { CertificateAuthorityArn, DomainName, IdempotencyToken, KEY_ALGORITHM_NAMES, Tags } from "../shapes.js";

export const requestCertificate = defineOperation<RequestCertificateRequest, RequestCertificateResponse>({
  name: "RequestCertificate",
  description: "Request a private certificate from a keyhold private CA (DomainName, SANs with wildcards, KeyAlgorithm).",
  readOnly: false,
  input: struct(
    {
      DomainName,
      ValidationMethod: enumOf(["EMAIL", "DNS", "HTTP"]),
      SubjectAlternativeNames: list(DomainName, { min: 1, max: 100 }),
      IdempotencyToken,
      DomainValidationOptions: list(struct({ DomainName, ValidationDomain: DomainName }, ["DomainName", "ValidationDomain"]), {
        min: 1,
        max: 100,
      }),
      Options: struct({
        CertificateTransparencyLoggingPreference: enumOf(["ENABLED", "DISABLED"]),
        Export: enumOf(["ENABLED", "DISABLED"]),
      }),
      CertificateAuthorityArn,
      Tags,
      KeyAlgorithm: enumOf(KEY_ALGORITHM_NAMES),
      ManagedBy: enumOf(["CLOUDFRONT"]),
    },
    ["DomainName"],
  ),
  async run(acm, call, input) {
    if (input.CertificateAuthorityArn === undefined)
      throw new ServiceError(
        "InvalidParameterException",
        "keyhold issues private certificates only: it cannot validate that you control a domain (DNS, email or HTTP validation), " +
          "so a public certificate cannot be requested. Name a keyhold private CA in CertificateAuthorityArn.",
      );
    if (input.ManagedBy !== undefined)
      throw new ServiceError("InvalidParameterException", "keyhold has no CloudFront to manage certificates.");
    const keyAlgorithm = (input.KeyAlgorithm ?? "RSA_2048") as KeyAlgorithm;
    if (!KEY_ALGORITHMS[keyAlgorithm].requestable)
      throw new ServiceError(
        "ValidationException",
        `KeyAlgorithm ${keyAlgorithm} cannot be requested: use RSA_2048, EC_prime256v1 or EC_secp384r1.`,
      );
    const domainName = input.DomainName!;
    const names = [domainName, ...(input.SubjectAlternativeNames ?? []).filter((n) => n !== domainName)];
    const unique = [...new Set(names.map((n) => n.toLowerCase()))];
    if (unique.length !== names.length)
      throw new ServiceError("InvalidParameterException", "The SubjectAlternativeNames name a domain twice.");
    if (names.length > 100) throw new ServiceError("InvalidParameterException", "A certificate holds at most 100 domain names.");
    const tags = checkTags(input.Tags ?? []);
    await acm.authorizer.require(call, { action: "acm:RequestCertificate", resource: "*" });
    if (tags.length) await acm.authorizer.require(call, { action: "acm:AddTagsToCertificate", resource: "*" });
    if (input.IdempotencyToken !== undefined) {
      const same = await acm.sameRequest(call, input.IdempotencyToken);
      if (same) {
        acm.trailResource(call, same.body.arn);
        return { CertificateArn: same.body.arn };
      }
    }
    const now = acm.clock.now();
    const arn = acm.newArn(call);
    const body: CertificateBody = {
      arn,
      region: call.region,
      type: "PRIVATE",
      status: "PENDING_VALIDATION",
      keyAlgorithm,
      createdAt: now,
      tags,
      certificateAuthorityArn: input.CertificateAuthorityArn,
      requested: { domainName, subjectAlternativeNames: names },
      idempotencyToken: input.IdempotencyToken,
      options: {
        CertificateTransparencyLoggingPreference: input.Options?.CertificateTransparencyLoggingPreference ?? "ENABLED",
        Export: "ENABLED",
      },
    };
    // Issued before anything is stored: a crash in between leaves nothing half-made.
    const issued = await acm.issue(call, body);
    await acm.create(call, { ...body, ...issued });
    acm.trailResource(call, arn);
    return { CertificateArn: arn };
  },
});
