/**
 * keyhold's own HTTPS from an ACM certificate (--tls-certificate-arn): served from the start,
 * switched without a restart when the certificate is renewed or re-imported, connections already
 * open kept; the certificate in use cannot be deleted.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Agent, request } from "node:https";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  RenewCertificateCommand,
  RequestCertificateCommand,
} from "@aws-sdk/client-acm";
import { systemClock } from "../src/clock.js";
import { ConfigError } from "../src/config.js";
import { ACCOUNT_ID, rejects, startTestServer, tempDir } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { makeCa, makeLeaf, TestIssuer, type Authority } from "./acm-pki.js";
import { requireTool } from "./process.js";

/** The name keyhold serves HTTPS as in the first test (ACM domain names have at least two labels; not under .localhost, whose names keyhold reads as S3 buckets). */
const NAME = "keyhold.example.test";
const CA_ARN = `arn:aws:acm-pca:us-east-1:${ACCOUNT_ID}:certificate-authority/11111111-2222-3333-4444-555555555555`;
/** A serial number as hex, upper case, without leading zeros: node and @peculiar/x509 write them differently. */
const hex = (serial: string) => serial.replace(/:/g, "").toUpperCase().replace(/^0+/, "");
const acmClient = (url: string) => new ACMClient({ endpoint: url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });

/** One GET of the health probe over `agent`: the serial of the certificate the server presented, and the socket. */
function probe(
  url: string,
  ca: string,
  agent: Agent,
  servername = "localhost",
): Promise<{ serial: string; socket: TLSSocket; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/_keyhold/healthz`, { agent, ca, servername }, (res) => {
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      res.resume();
      res.on("end", () => resolve({ serial, socket, status: res.statusCode ?? 0 }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("keyhold's own HTTPS from an ACM certificate", () => {
  let root: Authority;
  let issuer: TestIssuer;
  before(async () => {
    root = await makeCa("keyhold TLS test root");
    issuer = new TestIssuer(root, CA_ARN, systemClock);
  });
  const agents: Agent[] = [];
  after(() => {
    for (const a of agents) a.destroy();
  });
  const agent = () => {
    const a = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(a);
    return a;
  };

  it("serves the certificate, switches to its renewal without a restart, keeps open connections, refuses its deletion", async (t) => {
    const dataDir = tempDir();
    // The certificate is requested first (keyhold serving HTTP only), then named at the next start.
    const first = await startTestServer({ dataDir, start: { certificateIssuer: issuer } });
    let acm = acmClient(first.url);
    const { CertificateArn: arn } = await acm.send(
      new RequestCertificateCommand({ DomainName: NAME, CertificateAuthorityArn: CA_ARN, KeyAlgorithm: "EC_prime256v1" }),
    );
    acm.destroy();
    await first.stop();

    const server = await startTestServer({ dataDir, config: { tlsPort: 0, tlsCertificateArn: arn }, start: { certificateIssuer: issuer } });
    try {
      const tlsUrl = server.keyhold.tlsUrl!.replace("127.0.0.1", NAME);
      acm = acmClient(server.url);
      const serialOf = async () => {
        const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
        return hex(d.Serial!);
      };
      const open = agent();
      const before = await probe(server.keyhold.tlsUrl!, root.pem, open, NAME);
      assert.equal(before.status, 200);
      assert.equal(hex(before.serial), await serialOf());

      const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      assert.equal(d.InUseBy!.length, 1);
      await rejects(() => acm.send(new DeleteCertificateCommand({ CertificateArn: arn })), "ResourceInUseException");

      await acm.send(new RenewCertificateCommand({ CertificateArn: arn }));
      const renewedSerial = await serialOf();
      assert.notEqual(renewedSerial, hex(before.serial));
      // A new connection gets the renewed certificate at once.
      const fresh = await probe(server.keyhold.tlsUrl!, root.pem, agent(), NAME);
      assert.equal(hex(fresh.serial), renewedSerial);
      // The connection opened before the renewal is still there, and still answers.
      const reused = await probe(server.keyhold.tlsUrl!, root.pem, open, NAME);
      assert.equal(reused.socket, before.socket, "the same connection");
      assert.equal(reused.status, 200);

      // curl, with the CA file, reaches keyhold over HTTPS after the switch.
      if (requireTool(t, "curl", "curl")) {
        const ca = join(tempDir(), "ca.pem");
        writeFileSync(ca, root.pem);
        const port = server.keyhold.tlsPort!;
        // Asynchronously: the server answering curl runs in this process.
        const curl = await promisify(execFile)(
          "curl",
          [
            "-sS",
            "--cacert",
            ca,
            "--resolve",
            `${NAME}:${port}:127.0.0.1`,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `${tlsUrl}/_keyhold/healthz`,
          ],
          { encoding: "utf8", timeout: 20_000 },
        );
        assert.equal(curl.stdout, "200", curl.stderr);
      }
      acm.destroy();
    } finally {
      await server.stop();
    }
  });

  it("switches to a re-imported certificate; refuses a certificate of another account or one that does not exist", async () => {
    const dataDir = tempDir();
    const first = await startTestServer({ dataDir });
    let acm = acmClient(first.url);
    const one = await makeLeaf(root, { cn: "localhost" });
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(one.certPem),
        PrivateKey: Buffer.from(one.keyPem),
        CertificateChain: Buffer.from(root.pem),
      }),
    );
    acm.destroy();
    await first.stop();

    const server = await startTestServer({ dataDir, config: { tlsPort: 0, tlsCertificateArn: arn } });
    try {
      acm = acmClient(server.url);
      const a = await probe(server.keyhold.tlsUrl!, root.pem, agent());
      assert.equal(hex(a.serial), hex(one.cert.serialNumber));
      const two = await makeLeaf(root, { cn: "localhost" });
      await acm.send(
        new ImportCertificateCommand({ CertificateArn: arn, Certificate: Buffer.from(two.certPem), PrivateKey: Buffer.from(two.keyPem) }),
      );
      const b = await probe(server.keyhold.tlsUrl!, root.pem, agent());
      assert.equal(hex(b.serial), hex(two.cert.serialNumber));
      acm.destroy();
    } finally {
      await server.stop();
    }

    await assert.rejects(
      startTestServer({ dataDir, config: { tlsPort: 0, tlsCertificateArn: arn!.replace(ACCOUNT_ID, "999999999999") } }),
      (e: unknown) => e instanceof ConfigError && /own account/.test(e.message),
    );
    await assert.rejects(
      startTestServer({ dataDir, config: { tlsPort: 0, tlsCertificateArn: arn!.replace(/[0-9a-f]{12}$/, "000000000000") } }),
      (e: unknown) => e instanceof ConfigError && /no certificate/.test(e.message),
    );
  });
});
