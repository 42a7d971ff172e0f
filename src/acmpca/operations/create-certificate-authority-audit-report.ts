import type { CreateCertificateAuthorityAuditReportRequest, CreateCertificateAuthorityAuditReportResponse } from "@aws-sdk/client-acm-pca";
import { randomUUID } from "node:crypto";
import { ServiceError } from "../../errors.js";
import { enumOf, str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";
import { auditReport } from "../audit-report.js";

/** Reports kept on a CA for DescribeCertificateAuthorityAuditReport (the oldest go first). */
const MAX_REPORTS = 100;

export const createCertificateAuthorityAuditReport = defineOperation<
  CreateCertificateAuthorityAuditReportRequest,
  CreateCertificateAuthorityAuditReportResponse
>({
  name: "CreateCertificateAuthorityAuditReport",
  description:
    "Write a report of every certificate the CA issued or revoked (JSON or CSV) into an S3 bucket whose policy lets acm-pca.amazonaws.com write.",
  readOnly: false,
  input: struct(
    { CertificateAuthorityArn: Arn, S3BucketName: str({ min: 3, max: 63 }), AuditReportResponseFormat: enumOf(["JSON", "CSV"]) },
    ["CertificateAuthorityArn", "S3BucketName", "AuditReportResponseFormat"],
  ),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:CreateCertificateAuthorityAuditReport");
    pca.requireStatus(ca.body, ["ACTIVE", "DISABLED", "EXPIRED"], "CreateCertificateAuthorityAuditReport");
    if (!pca.crls) throw new ServiceError("RequestFailedException", "Audit reports need keyhold's S3 service, which is not running here.");
    const id = randomUUID();
    const format = input.AuditReportResponseFormat!;
    const key = `audit-report/${ca.body.id}/${id}.${format.toLowerCase()}`;
    const report = await auditReport(pca, ca, format);
    try {
      await pca.crls.put(ca, input.S3BucketName!, key, report, format === "JSON" ? "application/json" : "text/csv");
    } catch (error) {
      if (
        error instanceof ServiceError &&
        (error.code === "AccessDeniedException" || error.code === "AccessDenied" || error.code === "NoSuchBucket")
      ) {
        throw new ServiceError("InvalidArgsException", `The audit report cannot be written to ${input.S3BucketName}: ${error.message}`);
      }
      throw error;
    }
    const fresh = (await pca.load(ca.accountId, ca.body.id))!;
    const reports = [
      ...(fresh.body.auditReports ?? []),
      { id, bucket: input.S3BucketName!, key, status: "SUCCESS", createdAt: pca.clock.now() },
    ].slice(-MAX_REPORTS);
    await pca.save(fresh, { ...fresh.body, auditReports: reports });
    return { AuditReportId: id, S3Key: key };
  },
});
