/**
 * A CA's audit report: one row per certificate it issued, with its serial, subject, dates and
 * revocation, as AWS's report lists them (JSON array, or CSV with a header row).
 */
import { X509Certificate } from "node:crypto";
import { CERT_KIND, type AcmPcaService, type Authority, type CertificateBody } from "./service.js";
import { TEMPLATE_ARN_PREFIX } from "./templates.js";

const COLUMNS = [
  "awsAccountId",
  "certificateArn",
  "serial",
  "subject",
  "notBefore",
  "notAfter",
  "issuedAt",
  "revokedAt",
  "revocationReason",
  "templateArn",
] as const;

export async function auditReport(pca: AcmPcaService, ca: Authority, format: string): Promise<Buffer> {
  const rows: Record<(typeof COLUMNS)[number], string | undefined>[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await pca.repo.listDocuments(CERT_KIND, ca.accountId, `${ca.body.id}/`, after, 1000);
    for (const d of page.items) {
      const c = JSON.parse(d.body) as CertificateBody;
      rows.push({
        awsAccountId: ca.accountId,
        certificateArn: c.arn,
        serial: c.serial.replace(/(..)(?=.)/g, "$1:"),
        subject: new X509Certificate(Buffer.from(c.der, "base64")).subject.split("\n").reverse().join(","),
        notBefore: new Date(c.notBefore).toISOString(),
        notAfter: new Date(c.notAfter).toISOString(),
        issuedAt: new Date(c.issuedAt).toISOString(),
        revokedAt: c.revokedAt === undefined ? undefined : new Date(c.revokedAt).toISOString(),
        revocationReason: c.reason,
        templateArn: `${TEMPLATE_ARN_PREFIX}${c.template}/V1`,
      });
    }
    if (!page.next) break;
    after = page.next;
  }
  if (format === "JSON") return Buffer.from(JSON.stringify(rows), "utf8");
  const cell = (v: string | undefined) => (v === undefined ? "" : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return Buffer.from([COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n", "utf8");
}
