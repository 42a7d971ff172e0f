/**
 * ACM with keyhold's own private CA, end to end: a root and a subordinate CA made with
 * @aws-sdk/client-acm-pca, a certificate requested through @aws-sdk/client-acm issued by the
 * subordinate, its chain judged by `openssl verify`, renewed under the same ARN, exported; and a
 * caller ACM may serve but the CA does not allow gets a FAILED certificate, as on AWS.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import {
  ACMClient,
  DescribeCertificateCommand,
  ExportCertificateCommand,
  GetCertificateCommand,
  RenewCertificateCommand,
  RequestCertificateCommand,
} from "@aws-sdk/client-acm";
import { startTestServer, tempDir, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";
import { requireTool } from "./process.js";
import { activateCa, caInput } from "./pca-fixture.js";

describe("ACM certificates from keyhold's private CA", () => {
  let server: TestServer;
  let pca: ACMPCAClient;
  let acm: ACMClient;
  const acmAs = (credentials: Creds) => new ACMClient({ endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 });

  before(async () => {
    server = await startTestServer();
    pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    acm = acmAs(ROOT_CREDS);
  });
  after(async () => {
    pca.destroy();
    acm.destroy();
    await server.stop();
  });

  /** A CA made active: a root signs its own CSR; a subordinate's is signed by `parent`. */
  async function activeCa(cn: string, parent?: string): Promise<{ arn: string; pem: string }> {
    const type = parent ? "SUBORDINATE" : "ROOT";
    const ca = await activateCa(
      pca,
      caInput(type, "EC_prime256v1", "SHA256WITHECDSA", cn),
      parent ? { arn: parent, signing: "SHA256WITHECDSA" } : undefined,
    );
    return { arn: ca.arn, pem: ca.certificate };
  }

  it("requests, verifies with openssl, renews under the same ARN and exports a certificate issued by a subordinate CA", async (t) => {
    const root = await activeCa("keyhold e2e root");
    const sub = await activeCa("keyhold e2e issuing CA", root.arn);
    const { CertificateArn: arn } = await acm.send(
      new RequestCertificateCommand({
        DomainName: "api.internal.example",
        SubjectAlternativeNames: ["*.api.internal.example"],
        CertificateAuthorityArn: sub.arn,
        KeyAlgorithm: "EC_prime256v1",
      }),
    );
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.equal(d.Status, "ISSUED", `FailureReason ${d.FailureReason}`);
    assert.equal(d.Type, "PRIVATE");
    assert.equal(d.CertificateAuthorityArn, sub.arn);
    assert.deepEqual(d.SubjectAlternativeNames, ["api.internal.example", "*.api.internal.example"]);
    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    const leaf = new X509Certificate(got.Certificate!);
    assert.match(leaf.subjectAltName!, /DNS:\*\.api\.internal\.example/);
    assert.ok(leaf.checkIssued(new X509Certificate(sub.pem)));

    await acm.send(new RenewCertificateCommand({ CertificateArn: arn }));
    const renewed = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    assert.notEqual(new X509Certificate(renewed.Certificate!).serialNumber, leaf.serialNumber);
    const out = await acm.send(new ExportCertificateCommand({ CertificateArn: arn, Passphrase: Buffer.from("e2e passphrase") }));
    assert.ok(
      new X509Certificate(out.Certificate!).checkPrivateKey(createPrivateKey({ key: out.PrivateKey!, passphrase: "e2e passphrase" })),
    );

    if (!requireTool(t, "openssl", "openssl")) return;
    const dir = tempDir();
    const rootFile = join(dir, "root.pem");
    const subFile = join(dir, "sub.pem");
    const leafFile = join(dir, "leaf.pem");
    writeFileSync(rootFile, root.pem);
    writeFileSync(subFile, sub.pem);
    writeFileSync(leafFile, renewed.Certificate!);
    const verified = await promisify(execFile)("openssl", ["verify", "-CAfile", rootFile, "-untrusted", subFile, leafFile], {
      encoding: "utf8",
    });
    assert.match(verified.stdout, /: OK/);
    // The chain ACM answers is the subordinate and the root, in that order.
    const chain = renewed.CertificateChain!.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    assert.equal(new X509Certificate(chain[0]!).subject, new X509Certificate(sub.pem).subject);
  });

  it("gives a FAILED certificate (PCA_ACCESS_DENIED) to a caller the CA does not let issue", async () => {
    const root = await activeCa("keyhold e2e root 2");
    const iam = iamClient(server.url, ROOT_CREDS);
    const creds = await makeUser(iam, "acm-only", {
      acm: policy({ Effect: "Allow", Action: ["acm:RequestCertificate", "acm:DescribeCertificate"], Resource: "*" }),
    });
    iam.destroy();
    const user = acmAs(creds);
    const { CertificateArn: arn } = await user.send(
      new RequestCertificateCommand({ DomainName: "denied.example.com", CertificateAuthorityArn: root.arn }),
    );
    const d = (await user.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.equal(d.Status, "FAILED");
    assert.equal(d.FailureReason, "PCA_ACCESS_DENIED");
    user.destroy();
  });
});
