import type {
  DescribeCertificateAuthorityAuditReportRequest,
  DescribeCertificateAuthorityAuditReportResponse,
} from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const describeCertificateAuthorityAuditReport = defineOperation<
  DescribeCertificateAuthorityAuditReportRequest,
  DescribeCertificateAuthorityAuditReportResponse
>({
  name: "DescribeCertificateAuthorityAuditReport",
  description:
    "Describe an audit report: its status (reports are written before CreateCertificateAuthorityAuditReport answers), bucket and key.",
  readOnly: true,
  input: struct(
    {
      CertificateAuthorityArn: Arn,
      AuditReportId: str({ min: 36, max: 36, pattern: /^[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}$/ }),
    },
    ["CertificateAuthorityArn", "AuditReportId"],
  ),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:DescribeCertificateAuthorityAuditReport");
    const report = ca.body.auditReports?.find((r) => r.id === input.AuditReportId);
    if (!report) throw new ServiceError("ResourceNotFoundException", `No audit report ${input.AuditReportId} for ${ca.body.arn}.`);
    return {
      AuditReportStatus: report.status as "SUCCESS",
      S3BucketName: report.bucket,
      S3Key: report.key,
      CreatedAt: new Date(report.createdAt),
    };
  },
});
