/**
 * ACM Private CA after issuance, through @aws-sdk/client-acm-pca: revocation with every reason,
 * the CRL written into keyhold's S3 as acm-pca.amazonaws.com (read back and judged by `openssl
 * crl` and `openssl verify -crl_check`), OCSP and CRL URLs in issued certificates, the scheduler's
 * CRL refresh and permanent deletion, Update/Delete/Restore, tags, policies, permissions and
 * audit reports. The server runs on a ManualClock; clients sign at its time.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACMPCAClient,
  CreateCertificateAuthorityAuditReportCommand,
  CreateCertificateAuthorityCommand,
  CreatePermissionCommand,
  DeleteCertificateAuthorityCommand,
  DeletePermissionCommand,
  DeletePolicyCommand,
  DescribeCertificateAuthorityAuditReportCommand,
  DescribeCertificateAuthorityCommand,
  GetCertificateCommand,
  GetPolicyCommand,
  IssueCertificateCommand,
  ListPermissionsCommand,
  ListTagsCommand,
  PutPolicyCommand,
  RestoreCertificateAuthorityCommand,
  RevokeCertificateCommand,
  TagCertificateAuthorityCommand,
  UntagCertificateAuthorityCommand,
  UpdateCertificateAuthorityCommand,
  type RevocationConfiguration,
  type RevocationReason,
} from "@aws-sdk/client-acm-pca";
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, type S3Client } from "@aws-sdk/client-s3";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { createAccount } from "../src/app.js";
import { ACCOUNT_ID, rejects, startTestServer, tempDir, testConfig, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { bytesOf, s3Client } from "./s3.js";
import { activateCa, caInput, opensslCsr } from "./pca-fixture.js";

const BUCKET = "pca-crls";

let clock: ManualClock;
let server: TestServer;
let dir: string;
const clients: { destroy(): void }[] = [];

/** A client signing at keyhold's (moved) time. */
function pcaClient(): ACMPCAClient {
  const c = new ACMPCAClient({
    endpoint: server.url,
    region: "us-east-1",
    credentials: ROOT_CREDS,
    maxAttempts: 1,
    systemClockOffset: clock.now() - Date.now(),
  });
  clients.push(c);
  return c;
}
function s3(): S3Client {
  const c = s3Client(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
  clients.push(c);
  return c;
}

function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
/** openssl's whole answer: some commands (crl -CAfile) say "verify OK" on stderr. */
function opensslAll(...args: string[]): string {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout + r.stderr;
}
function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
function csr(name: string): Buffer {
  return opensslCsr(dir, name, { subject: `/CN=${name}`, outform: "DER" });
}

/** The bucket policy AWS documents for CRLs: acm-pca.amazonaws.com may put objects and read the bucket's ACL and location. */
function crlBucketPolicy(bucket: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "acm-pca.amazonaws.com" },
        Action: ["s3:PutObject", "s3:PutObjectAcl", "s3:GetBucketAcl", "s3:GetBucketLocation"],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
      },
    ],
  });
}

async function activeRoot(revocation?: RevocationConfiguration) {
  const ca = await activateCa(
    pcaClient(),
    caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "lifecycle root", { RevocationConfiguration: revocation }),
  );
  return { arn: ca.arn, id: ca.id, pem: ca.certificate };
}

async function issueLeaf(arn: string, name: string) {
  const pca = pcaClient();
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: arn,
      Csr: csr(name),
      SigningAlgorithm: "SHA256WITHECDSA",
      Validity: { Type: "DAYS", Value: 90 },
    }),
  );
  const { Certificate } = await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn }));
  const path = file(`${name}.pem`, Certificate!);
  const serial = openssl("x509", "-in", path, "-noout", "-serial").trim().split("=")[1]!;
  return { arn: CertificateArn!, pem: Certificate!, path, serial };
}

async function readCrl(id: string): Promise<{ der: Buffer; text: string }> {
  const got = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: `crl/${id}.crl` }));
  const der = await bytesOf(got.Body);
  return { der, text: openssl("crl", "-inform", "DER", "-in", file(`${id}.crl`, der), "-noout", "-text") };
}

describe("ACM Private CA: revocation, CRLs and the CA's life", () => {
  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    dir = tempDir("keyhold-pca-life-");
    await s3().send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  it("refuses a CRL bucket whose policy does not let acm-pca.amazonaws.com write, and one that does not exist", async () => {
    const pca = pcaClient();
    const create = (bucket: string) =>
      pca.send(
        new CreateCertificateAuthorityCommand({
          CertificateAuthorityType: "ROOT",
          CertificateAuthorityConfiguration: {
            KeyAlgorithm: "EC_prime256v1",
            SigningAlgorithm: "SHA256WITHECDSA",
            Subject: { CommonName: "refused" },
          },
          RevocationConfiguration: { CrlConfiguration: { Enabled: true, S3BucketName: bucket } },
        }),
      );
    await rejects(() => create(BUCKET), "InvalidArgsException");
    await rejects(() => create("no-such-bucket"), "InvalidArgsException");
    await rejects(
      () =>
        pca.send(
          new CreateCertificateAuthorityCommand({
            CertificateAuthorityType: "ROOT",
            CertificateAuthorityConfiguration: {
              KeyAlgorithm: "EC_prime256v1",
              SigningAlgorithm: "SHA256WITHECDSA",
              Subject: { CommonName: "no bucket" },
            },
            RevocationConfiguration: { CrlConfiguration: { Enabled: true } },
          }),
        ),
      "InvalidArgsException",
    );
    await s3().send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: crlBucketPolicy(BUCKET) }));
  });

  it("revokes with every reason; the CRL in S3 lists each serial and reason, and openssl rejects the revoked leaf", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const root = await activeRoot({
      CrlConfiguration: { Enabled: true, S3BucketName: BUCKET, ExpirationInDays: 7 },
      OcspConfiguration: { Enabled: true },
    });
    const rootPath = file("crl-root.pem", root.pem);
    // Activation published a first, empty CRL.
    const first = await readCrl(root.id);
    assert.match(first.text, /No Revoked Certificates/);
    assert.match(opensslAll("crl", "-inform", "DER", "-in", file("first.crl", first.der), "-CAfile", rootPath, "-noout"), /verify OK/i);

    const leaf = await issueLeaf(root.arn, "crl-leaf");
    const leafText = openssl("x509", "-in", leaf.path, "-noout", "-text");
    assert.match(leafText, new RegExp(`URI:${server.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${BUCKET}/crl/${root.id}\\.crl`));
    assert.match(leafText, new RegExp(`OCSP - URI:${server.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/_keyhold/ocsp/${root.id}`));

    const pca = pcaClient();
    await pca.send(
      new RevokeCertificateCommand({
        CertificateAuthorityArn: root.arn,
        CertificateSerial: leaf.serial,
        RevocationReason: "KEY_COMPROMISE",
      }),
    );
    await rejects(
      () =>
        pca.send(
          new RevokeCertificateCommand({
            CertificateAuthorityArn: root.arn,
            CertificateSerial: leaf.serial,
            RevocationReason: "SUPERSEDED",
          }),
        ),
      "RequestAlreadyProcessedException",
    );
    const crl = await readCrl(root.id);
    assert.match(crl.text, new RegExp(`Serial Number: ${leaf.serial}`, "i"));
    assert.match(crl.text, /Key Compromise/);
    const crlPem = file("crl.pem", openssl("crl", "-inform", "DER", "-in", join(dir, `${root.id}.crl`)));
    assert.throws(() => openssl("verify", "-crl_check", "-CAfile", rootPath, "-CRLfile", crlPem, leaf.path), /certificate revoked/);

    // Every reason, with colons in the serial as AWS's examples write it.
    const reasons: Record<string, RegExp> = {
      UNSPECIFIED: /Unspecified/,
      CERTIFICATE_AUTHORITY_COMPROMISE: /CA Compromise/,
      AFFILIATION_CHANGED: /Affiliation Changed/,
      SUPERSEDED: /Superseded/,
      CESSATION_OF_OPERATION: /Cessation Of Operation/,
      PRIVILEGE_WITHDRAWN: /Privilege Withdrawn/,
      A_A_COMPROMISE: /AA Compromise/,
    };
    for (const reason of Object.keys(reasons)) {
      const c = await issueLeaf(root.arn, `r-${reason}`);
      const colons = c.serial.toLowerCase().replace(/(..)(?=.)/g, "$1:");
      await pca.send(
        new RevokeCertificateCommand({
          CertificateAuthorityArn: root.arn,
          CertificateSerial: colons,
          RevocationReason: reason as RevocationReason,
        }),
      );
    }
    const all = await readCrl(root.id);
    for (const [reason, text] of Object.entries(reasons)) assert.match(all.text, text, reason);
    assert.equal(all.text.match(/Serial Number:/g)!.length, 8);
    // A serial it never issued; one that is not hex.
    await rejects(
      () =>
        pca.send(
          new RevokeCertificateCommand({
            CertificateAuthorityArn: root.arn,
            CertificateSerial: "1234abcd",
            RevocationReason: "UNSPECIFIED",
          }),
        ),
      "ResourceNotFoundException",
    );
    await rejects(
      () =>
        pca.send(
          new RevokeCertificateCommand({
            CertificateAuthorityArn: root.arn,
            CertificateSerial: "not-hex",
            RevocationReason: "UNSPECIFIED",
          }),
        ),
      "InvalidRequestException",
    );

    // The scheduler republishes before expiry (once half the 7 days are gone), with a higher CRL number.
    const number = (text: string) => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text)![1]);
    const before = number(all.text);
    assert.equal((await server.keyhold.acmPcaScheduler.tick()).crls, 0, "not due yet");
    clock.advance(4 * DAY_MS);
    assert.equal((await server.keyhold.acmPcaScheduler.tick()).crls, 1);
    const refreshed = await readCrl(root.id);
    assert.ok(number(refreshed.text) > before);
    assert.equal(refreshed.text.match(/Serial Number:/g)!.length, 8);
  });

  it("disables, deletes (7–30 days), restores, and at the end of the period removes a CA", async () => {
    const root = await activeRoot();
    const pca = pcaClient();
    const status = async () =>
      (await pcaClient().send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn }))).CertificateAuthority!;
    await rejects(() => pca.send(new DeleteCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn })), "InvalidStateException");
    await rejects(
      () => pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, Status: "EXPIRED" })),
      "InvalidArgsException",
    );
    await pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, Status: "DISABLED" }));
    assert.equal((await status()).Status, "DISABLED");
    await rejects(() => issueLeaf(root.arn, "disabled"), "InvalidStateException");
    await rejects(
      () => pca.send(new DeleteCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, PermanentDeletionTimeInDays: 6 })),
      "ValidationException",
    );
    await pca.send(new DeleteCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, PermanentDeletionTimeInDays: 7 }));
    const deleted = await status();
    assert.equal(deleted.Status, "DELETED");
    assert.ok(Math.abs(deleted.RestorableUntil!.getTime() - (clock.now() + 7 * DAY_MS)) < 1000);
    await rejects(() => issueLeaf(root.arn, "deleted"), "InvalidStateException");
    await pca.send(new RestoreCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn }));
    assert.equal((await status()).Status, "DISABLED");
    await rejects(() => pca.send(new RestoreCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn })), "InvalidStateException");
    await pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, Status: "ACTIVE" }));
    await issueLeaf(root.arn, "restored");
    await pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, Status: "DISABLED" }));
    await pca.send(new DeleteCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn, PermanentDeletionTimeInDays: 7 }));
    assert.deepEqual((await server.keyhold.acmPcaScheduler.tick()).deleted, []);
    clock.advance(8 * DAY_MS);
    assert.deepEqual((await server.keyhold.acmPcaScheduler.tick()).deleted, [root.arn]);
    await rejects(
      () => pcaClient().send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn })),
      "ResourceNotFoundException",
    );
  });

  it("keeps tags, a resource policy and ACM's permissions on a CA", async () => {
    const root = await activeRoot();
    const pca = pcaClient();
    const arn = root.arn;
    await pca.send(
      new TagCertificateAuthorityCommand({
        CertificateAuthorityArn: arn,
        Tags: [
          { Key: "team", Value: "pki" },
          { Key: "env", Value: "test" },
        ],
      }),
    );
    await pca.send(new TagCertificateAuthorityCommand({ CertificateAuthorityArn: arn, Tags: [{ Key: "env", Value: "prod" }] }));
    assert.deepEqual((await pca.send(new ListTagsCommand({ CertificateAuthorityArn: arn }))).Tags, [
      { Key: "team", Value: "pki" },
      { Key: "env", Value: "prod" },
    ]);
    await pca.send(new UntagCertificateAuthorityCommand({ CertificateAuthorityArn: arn, Tags: [{ Key: "team" }] }));
    assert.deepEqual((await pca.send(new ListTagsCommand({ CertificateAuthorityArn: arn }))).Tags, [{ Key: "env", Value: "prod" }]);
    await rejects(
      () => pca.send(new TagCertificateAuthorityCommand({ CertificateAuthorityArn: arn, Tags: [{ Key: "aws:reserved", Value: "x" }] })),
      "InvalidTagException",
    );
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await rejects(() => pca.send(new TagCertificateAuthorityCommand({ CertificateAuthorityArn: arn, Tags: many })), "TooManyTagsException");

    const otherCreds = await createAccount(testConfig(server.dataDir), "444455556666");
    const other0 = new ACMPCAClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: otherCreds,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });
    clients.push(other0);
    await rejects(
      () =>
        other0.send(
          new IssueCertificateCommand({
            CertificateAuthorityArn: arn,
            Csr: csr("cross-denied"),
            SigningAlgorithm: "SHA256WITHECDSA",
            Validity: { Type: "DAYS", Value: 1 },
          }),
        ),
      "AccessDeniedException",
    );
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::444455556666:root" },
          Action: ["acm-pca:IssueCertificate", "acm-pca:GetCertificate"],
          Resource: arn,
        },
      ],
    });
    await rejects(() => pca.send(new GetPolicyCommand({ ResourceArn: arn })), "ResourceNotFoundException");
    await rejects(() => pca.send(new PutPolicyCommand({ ResourceArn: arn, Policy: "{not json" })), "InvalidPolicyException");
    await pca.send(new PutPolicyCommand({ ResourceArn: arn, Policy: policy }));
    assert.equal((await pca.send(new GetPolicyCommand({ ResourceArn: arn }))).Policy, policy);
    // Account 444455556666 may now issue from the CA; it could not before, and may not describe it.
    const other = new ACMPCAClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: otherCreds,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });
    clients.push(other);
    const { CertificateArn } = await other.send(
      new IssueCertificateCommand({
        CertificateAuthorityArn: arn,
        Csr: csr("cross-account"),
        SigningAlgorithm: "SHA256WITHECDSA",
        Validity: { Type: "DAYS", Value: 1 },
      }),
    );
    assert.ok((await other.send(new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn }))).Certificate);
    await rejects(() => other.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn })), "AccessDeniedException");
    await pca.send(new DeletePolicyCommand({ ResourceArn: arn }));
    await rejects(() => pca.send(new DeletePolicyCommand({ ResourceArn: arn })), "ResourceNotFoundException");

    const permission = { CertificateAuthorityArn: arn, Principal: "acm.amazonaws.com" };
    await pca.send(new CreatePermissionCommand({ ...permission, Actions: ["IssueCertificate", "GetCertificate", "ListPermissions"] }));
    await rejects(
      () => pca.send(new CreatePermissionCommand({ ...permission, Actions: ["IssueCertificate"] })),
      "PermissionAlreadyExistsException",
    );
    const listed = (await pca.send(new ListPermissionsCommand({ CertificateAuthorityArn: arn }))).Permissions!;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.Principal, "acm.amazonaws.com");
    assert.equal(listed[0]!.SourceAccount, ACCOUNT_ID);
    assert.deepEqual(listed[0]!.Actions, ["IssueCertificate", "GetCertificate", "ListPermissions"]);
    await pca.send(new DeletePermissionCommand(permission));
    await rejects(() => pca.send(new DeletePermissionCommand(permission)), "ResourceNotFoundException");
    assert.deepEqual((await pca.send(new ListPermissionsCommand({ CertificateAuthorityArn: arn }))).Permissions, []);
  });

  it("writes audit reports in JSON and CSV into S3", async () => {
    const root = await activeRoot();
    const leaf = await issueLeaf(root.arn, "audited");
    const pca = pcaClient();
    await pca.send(
      new RevokeCertificateCommand({ CertificateAuthorityArn: root.arn, CertificateSerial: leaf.serial, RevocationReason: "SUPERSEDED" }),
    );
    const json = await pca.send(
      new CreateCertificateAuthorityAuditReportCommand({
        CertificateAuthorityArn: root.arn,
        S3BucketName: BUCKET,
        AuditReportResponseFormat: "JSON",
      }),
    );
    assert.equal(json.S3Key, `audit-report/${root.id}/${json.AuditReportId}.json`);
    const described = await pca.send(
      new DescribeCertificateAuthorityAuditReportCommand({ CertificateAuthorityArn: root.arn, AuditReportId: json.AuditReportId }),
    );
    assert.equal(described.AuditReportStatus, "SUCCESS");
    assert.equal(described.S3BucketName, BUCKET);
    const rows = JSON.parse(
      (await bytesOf((await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: json.S3Key }))).Body)).toString("utf8"),
    );
    const row = rows.find((r: { certificateArn: string }) => r.certificateArn === leaf.arn);
    assert.equal(row.revocationReason, "SUPERSEDED");
    assert.equal(row.serial.replace(/:/g, ""), leaf.serial.toLowerCase().replace(/^0+/, ""));
    const csv = await pca.send(
      new CreateCertificateAuthorityAuditReportCommand({
        CertificateAuthorityArn: root.arn,
        S3BucketName: BUCKET,
        AuditReportResponseFormat: "CSV",
      }),
    );
    const text = (await bytesOf((await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: csv.S3Key }))).Body)).toString("utf8");
    assert.match(text.split("\n")[0]!, /^awsAccountId,certificateArn,serial/);
    assert.ok(text.includes(leaf.arn));
    await rejects(
      () =>
        pca.send(
          new DescribeCertificateAuthorityAuditReportCommand({
            CertificateAuthorityArn: root.arn,
            AuditReportId: "00000000-0000-4000-8000-000000000000",
          }),
        ),
      "ResourceNotFoundException",
    );
    await s3().send(new CreateBucketCommand({ Bucket: "pca-closed" }));
    await rejects(
      () =>
        pca.send(
          new CreateCertificateAuthorityAuditReportCommand({
            CertificateAuthorityArn: root.arn,
            S3BucketName: "pca-closed",
            AuditReportResponseFormat: "JSON",
          }),
        ),
      "InvalidArgsException",
    );
  });
});
