/**
 * The OCSP responder end to end: a CA made through @aws-sdk/client-acm-pca with OCSP enabled, a
 * certificate it issues (which names the responder in its AIA extension), `openssl ocsp` asking
 * keyhold at that URL before and after RevokeCertificate, and after OCSP is turned off.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ACMPCAClient,
  GetCertificateCommand,
  IssueCertificateCommand,
  RevokeCertificateCommand,
  UpdateCertificateAuthorityCommand,
} from "@aws-sdk/client-acm-pca";
import { startTestServer, tempDir, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { activateCa, caInput, opensslCsr } from "./pca-fixture.js";

const run = promisify(execFile);
const T = "arn:aws:acm-pca:::template/";

describe("OCSP responder of an ACM Private CA", () => {
  let server: TestServer;
  let pca: ACMPCAClient;
  const dir = tempDir("keyhold-ocsp-e2e-");
  let caArn: string;
  let caPem: string;
  let leafPem: string;
  let ocspUrl: string;

  before(async () => {
    server = await startTestServer({ config: { metricsPort: 0 } });
    pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
  });
  after(async () => {
    pca.destroy();
    await server.stop();
  });

  /** `openssl ocsp` for the leaf at the URL its certificate names, the response verified against the CA. */
  async function ask(): Promise<string> {
    try {
      const { stdout, stderr } = await run(
        "openssl",
        ["ocsp", "-issuer", caPem, "-cert", leafPem, "-url", ocspUrl, "-CAfile", caPem, "-resp_text"],
        { encoding: "utf8" },
      );
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `exit≠0\n${e.stdout ?? ""}${e.stderr ?? ""}`;
    }
  }

  it("answers good for a certificate the CA issued, at the URL in its AIA extension", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const root = await activateCa(
      pca,
      caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "keyhold OCSP root", {
        RevocationConfiguration: { OcspConfiguration: { Enabled: true } },
      }),
    );
    caArn = root.arn;
    caPem = join(dir, "ca.pem");
    writeFileSync(caPem, root.certificate + "\n");

    const csr = opensslCsr(dir, "leaf", { subject: "/CN=service.internal" });
    const leaf = await pca.send(
      new IssueCertificateCommand({
        CertificateAuthorityArn: caArn,
        Csr: csr,
        SigningAlgorithm: "SHA256WITHECDSA",
        TemplateArn: `${T}EndEntityServerAuthCertificate/V1`,
        Validity: { Type: "DAYS", Value: 30 },
      }),
    );
    const leafCert = await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: caArn, CertificateArn: leaf.CertificateArn }));
    leafPem = join(dir, "leaf.pem");
    writeFileSync(leafPem, leafCert.Certificate! + "\n");

    ocspUrl = execFileSync("openssl", ["x509", "-in", leafPem, "-noout", "-ocsp_uri"], { encoding: "utf8" }).trim();
    assert.equal(ocspUrl, `${server.url}/_keyhold/ocsp/${caArn.split("/").pop()}`);
    const out = await ask();
    assert.match(out, /Response verify OK/);
    assert.match(out, /leaf\.pem: good/);
    assert.match(out, /OCSP Nonce:/);
    assert.doesNotMatch(out, /WARNING/);
    // Counted like an API call, under service "ocsp" and the OCSP status.
    const metrics = await (await fetch(`${server.keyhold.metricsUrl}/metrics`)).text();
    assert.match(metrics, /^keyhold_requests_total\{service="ocsp",operation="successful",status="2xx",code=""\} 1$/m);
  });

  it("answers revoked, with the time and reason, once RevokeCertificate is done", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl") || !leafPem) return;
    const serial = execFileSync("openssl", ["x509", "-in", leafPem, "-noout", "-serial"], { encoding: "utf8" })
      .trim()
      .replace(/^serial=/, "")
      .toLowerCase();
    const before = Date.now();
    await pca.send(
      new RevokeCertificateCommand({
        CertificateAuthorityArn: caArn,
        CertificateSerial: serial.match(/../g)!.join(":"),
        RevocationReason: "KEY_COMPROMISE",
      }),
    );
    const out = await ask();
    assert.match(out, /Response verify OK/);
    assert.match(out, /leaf\.pem: revoked/);
    assert.match(out, /Reason: keyCompromise/);
    const time = /Revocation Time: (.+ GMT)/.exec(out)?.[1];
    assert.ok(time, out);
    assert.ok(Math.abs(Date.parse(time) - before) < 60_000, `revocation time ${time}`);
  });

  it("answers unauthorized once the CA's OCSP configuration is disabled", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl") || !leafPem) return;
    await pca.send(
      new UpdateCertificateAuthorityCommand({
        CertificateAuthorityArn: caArn,
        RevocationConfiguration: { OcspConfiguration: { Enabled: false } },
      }),
    );
    const out = await ask();
    assert.match(out, /Responder Error: unauthorized \(6\)/);
  });
});
