/**
 * The HTTPS certificate keyhold makes at first start comes from a keyhold private CA: the CA file
 * clients trust (ca.pem) is the CA's certificate, which GetCertificateAuthorityCertificate answers
 * too; curl and openssl accept the chain; the certificate is an ACM certificate that managed
 * renewal renews (recorded in the audit trail) and the listener switches to; a restart keeps it;
 * a data directory with the files an earlier keyhold made keeps serving them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { request } from "node:https";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import {
  ACMClient,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ListCertificatesCommand,
  RequestCertificateCommand,
} from "@aws-sdk/client-acm";
import {
  ACMPCAClient,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  ListCertificateAuthoritiesCommand,
} from "@aws-sdk/client-acm-pca";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { startTestServer, tempDir } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { makeCa, makeLeaf } from "./acm-pki.js";
import { requireTool, spawnServer } from "./process.js";
import { activateCa, caInput } from "./pca-fixture.js";

const run = promisify(execFile);
const clients = (url: string, clock?: ManualClock) => {
  const options = {
    endpoint: url,
    region: "us-east-1",
    credentials: ROOT_CREDS,
    maxAttempts: 1,
    systemClockOffset: clock ? clock.now() - Date.now() : 0,
  };
  return { acm: new ACMClient(options), pca: new ACMPCAClient(options), trail: new CloudTrailClient(options) };
};
const hex = (serial: string) => serial.replace(/:/g, "").toUpperCase().replace(/^0+/, "");

/** The certificate the HTTPS listener presents to a fresh connection that trusts `ca`. */
function served(url: string, ca: string, servername = "localhost"): Promise<{ serial: string; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/_keyhold/healthz`, { ca, servername, agent: false }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on("end", () => resolve({ serial, status: res.statusCode ?? 0 }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function curl(caFile: string, url: string): Promise<string> {
  const out = await run("curl", ["-sS", "--cacert", caFile, "-o", "/dev/null", "-w", "%{http_code}", `${url}/_keyhold/healthz`], {
    encoding: "utf8",
    timeout: 20_000,
  });
  return out.stdout;
}

describe("keyhold's own HTTPS from its local private CA", () => {
  it("first start: a keyhold CA issues the certificate; ca.pem is GetCertificateAuthorityCertificate's; curl, openssl verify; a restart keeps it; managed renewal switches it and is audited", async (t) => {
    const dataDir = tempDir();
    // Started 340 days ago: the certificate (395 days) is within ACM's 60-day renewal window today.
    const clock = new ManualClock(Date.now() - 340 * DAY_MS);
    let server = await startTestServer({ dataDir, clock, config: { tlsPort: 0 } });
    let c = clients(server.url, clock);
    try {
      const caFile = server.keyhold.caFile!;
      assert.equal(caFile, join(dataDir, "tls", "ca.pem"));
      const caPem = readFileSync(caFile, "utf8");
      // No server key on disk: it is kept wrapped in the database, as every ACM key.
      assert.deepEqual(readdirSync(join(dataDir, "tls")).sort(), ["ca.pem", "certificate-arn"]);
      const arn = readFileSync(join(dataDir, "tls", "certificate-arn"), "utf8").trim();

      // The CA: a keyhold private CA of the account, ACTIVE, ROOT, and its certificate is ca.pem.
      const cas = (await c.pca.send(new ListCertificateAuthoritiesCommand({}))).CertificateAuthorities!;
      assert.equal(cas.length, 1);
      const ca = cas[0]!;
      assert.equal(ca.Status, "ACTIVE");
      assert.equal(ca.Type, "ROOT");
      assert.match(ca.CertificateAuthorityConfiguration!.Subject!.CommonName!, /^keyhold local CA /);
      const got = await c.pca.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: ca.Arn }));
      assert.equal(got.Certificate!.trim(), caPem.trim());
      assert.equal(got.CertificateChain, undefined);

      // The certificate: an ACM private certificate of that CA, in use by the listener, with the names keyhold answers to.
      const d = (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      assert.equal(d.Type, "PRIVATE");
      assert.equal(d.Status, "ISSUED");
      assert.equal(d.CertificateAuthorityArn, ca.Arn);
      assert.equal(d.InUseBy!.length, 1);
      assert.deepEqual(
        d.ExtendedKeyUsages!.map((u) => u.Name),
        ["TLS_WEB_SERVER_AUTHENTICATION"],
      );
      const listed = (await c.acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["EC_prime256v1"] } }))).CertificateSummaryList!;
      assert.ok(listed.some((s) => s.CertificateArn === arn));
      const pem = (await c.acm.send(new GetCertificateCommand({ CertificateArn: arn }))).Certificate!;
      const x = new X509Certificate(pem);
      assert.ok(x.checkIssued(new X509Certificate(caPem)));
      for (const name of ["DNS:localhost", "DNS:*.localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"])
        assert.ok(x.subjectAltName!.includes(name), `${name} in ${x.subjectAltName}`);

      const first = await served(server.keyhold.tlsUrl!, caPem);
      assert.equal(first.status, 200);
      assert.equal(hex(first.serial), hex(d.Serial!));
      if (requireTool(t, "openssl", "openssl")) {
        const dir = tempDir();
        writeFileSync(join(dir, "server.pem"), pem);
        const verified = await run("openssl", ["verify", "-CAfile", caFile, join(dir, "server.pem")], { encoding: "utf8" });
        assert.match(verified.stdout, /server\.pem: OK/);
      }
      if (requireTool(t, "curl", "curl")) {
        assert.equal(await curl(caFile, server.keyhold.tlsUrl!), "200");
        assert.equal(await curl(caFile, server.keyhold.tlsUrl!.replace("127.0.0.1", "localhost")), "200");
      }

      // A restart serves the same certificate, from the same CA: nothing new is made.
      await server.stop();
      server = await startTestServer({ dataDir, clock, config: { tlsPort: 0 } });
      c = clients(server.url, clock);
      assert.equal(readFileSync(server.keyhold.caFile!, "utf8"), caPem);
      assert.equal(hex((await served(server.keyhold.tlsUrl!, caPem)).serial), hex(d.Serial!));
      assert.equal((await c.pca.send(new ListCertificateAuthoritiesCommand({}))).CertificateAuthorities!.length, 1);

      // Today the certificate is 55 days from expiry: the scheduler renews it, the listener switches at once.
      clock.set(Date.now());
      assert.ok((await server.keyhold.acmScheduler.tick()).includes(arn));
      c = clients(server.url, clock);
      const renewed = (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      assert.notEqual(hex(renewed.Serial!), hex(d.Serial!));
      assert.equal(renewed.RenewalSummary?.RenewalStatus, "SUCCESS");
      const after = await served(server.keyhold.tlsUrl!, caPem);
      assert.equal(hex(after.serial), hex(renewed.Serial!));
      if (requireTool(t, "curl", "curl")) assert.equal(await curl(caFile, server.keyhold.tlsUrl!), "200");

      // The trail: the CA and the certificate made at first start, and the renewal, as AWS service events.
      const lookup = async (source: string) =>
        (
          await c.trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: source }] }))
        ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, any>);
      const acmEvents = await lookup("acm.amazonaws.com");
      const renewal = acmEvents.find((e) => e.eventName === "RenewCertificate" && e.eventType === "AwsServiceEvent");
      assert.ok(renewal, `a RenewCertificate service event in ${JSON.stringify(acmEvents.map((e) => e.eventName))}`);
      assert.equal(renewal.resources[0].ARN, arn);
      assert.equal(renewal.resources[0].type, "AWS::CertificateManager::Certificate");
      assert.equal(renewal.serviceEventDetails.renewalStatus, "SUCCESS");
      assert.equal(renewal.recipientAccountId, "111122223333");
      assert.ok(acmEvents.some((e) => e.eventName === "RequestCertificate" && e.resources?.[0]?.ARN === arn));
      const pcaEvents = await lookup("acm-pca.amazonaws.com");
      assert.ok(pcaEvents.some((e) => e.eventName === "CreateCertificateAuthority" && e.resources?.[0]?.ARN === ca.Arn));
    } finally {
      c.acm.destroy();
      c.pca.destroy();
      c.trail.destroy();
      await server.stop();
    }
  });

  it("a failed renewal (no permission for ACM; a disabled CA) is audited as FAILED with the reason, and the listener keeps the certificate it has", async () => {
    const dataDir = tempDir();
    const clock = new ManualClock(Date.now() - 340 * DAY_MS);
    const server = await startTestServer({ dataDir, clock, config: { tlsPort: 0 } });
    const arn = readFileSync(join(dataDir, "tls", "certificate-arn"), "utf8").trim();
    let c = clients(server.url, clock);
    try {
      const caArn = (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!.CertificateAuthorityArn!;
      const before = await served(server.keyhold.tlsUrl!, readFileSync(server.keyhold.caFile!, "utf8"));
      const { DeletePermissionCommand, CreatePermissionCommand, UpdateCertificateAuthorityCommand } =
        await import("@aws-sdk/client-acm-pca");
      const renewalEvents = async () =>
        (
          await c.trail.send(
            new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "RenewCertificate" }] }),
          )
        ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, any>);
      // Without the CA's permission for acm.amazonaws.com, ACM may not renew (as on AWS).
      await c.pca.send(new DeletePermissionCommand({ CertificateAuthorityArn: caArn, Principal: "acm.amazonaws.com" }));
      clock.set(Date.now());
      assert.deepEqual(await server.keyhold.acmScheduler.tick(), []);
      c = clients(server.url, clock);
      let d = (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      assert.equal(d.RenewalSummary?.RenewalStatus, "FAILED");
      assert.equal(d.RenewalSummary?.RenewalStatusReason, "PCA_ACCESS_DENIED");
      let events = await renewalEvents();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.eventType, "AwsServiceEvent");
      assert.equal(events[0]!.serviceEventDetails.renewalStatus, "FAILED");
      assert.equal(events[0]!.serviceEventDetails.renewalStatusReason, "PCA_ACCESS_DENIED");

      // The permission back but the CA disabled: it cannot issue the renewal either.
      await c.pca.send(
        new CreatePermissionCommand({
          CertificateAuthorityArn: caArn,
          Principal: "acm.amazonaws.com",
          Actions: ["IssueCertificate", "GetCertificate", "ListPermissions"],
        }),
      );
      await c.pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: caArn, Status: "DISABLED" }));
      assert.deepEqual(await server.keyhold.acmScheduler.tick(), []);
      d = (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
      assert.equal(d.RenewalSummary?.RenewalStatus, "FAILED");
      assert.equal(d.RenewalSummary?.RenewalStatusReason, "PCA_INVALID_STATE");
      // The listener keeps the certificate it has.
      assert.equal(hex((await served(server.keyhold.tlsUrl!, readFileSync(server.keyhold.caFile!, "utf8"))).serial), hex(before.serial));
      events = await renewalEvents();
      assert.equal(events.length, 2);
      assert.deepEqual(events.map((e) => e.serviceEventDetails.renewalStatusReason).sort(), ["PCA_ACCESS_DENIED", "PCA_INVALID_STATE"]);
      assert.equal(
        (await c.pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: caArn }))).CertificateAuthority!.Status,
        "DISABLED",
      );
    } finally {
      c.acm.destroy();
      c.pca.destroy();
      c.trail.destroy();
      await server.stop();
    }
  });

  it("a data directory with the certificate files an earlier keyhold made keeps serving them, and makes no CA", async () => {
    const dataDir = tempDir();
    const root = await makeCa("keyhold local CA 0badcafe");
    const leaf = await makeLeaf(root, { cn: "localhost" });
    mkdirSync(join(dataDir, "tls"), { recursive: true });
    writeFileSync(join(dataDir, "tls", "ca.pem"), root.pem);
    writeFileSync(join(dataDir, "tls", "server.pem"), leaf.certPem);
    writeFileSync(join(dataDir, "tls", "server.key"), leaf.keyPem);
    const server = await startTestServer({ dataDir, config: { tlsPort: 0 } });
    const c = clients(server.url);
    try {
      assert.equal(server.keyhold.caFile, join(dataDir, "tls", "ca.pem"));
      assert.equal(hex((await served(server.keyhold.tlsUrl!, root.pem)).serial), hex(leaf.cert.serialNumber));
      assert.ok(!existsSync(join(dataDir, "tls", "certificate-arn")));
      assert.equal((await c.pca.send(new ListCertificateAuthoritiesCommand({}))).CertificateAuthorities!.length, 0);
    } finally {
      c.acm.destroy();
      c.pca.destroy();
      c.trail.destroy();
      await server.stop();
    }
  });
});

describe("--public-url", () => {
  it("is read from the flag or KEYHOLD_PUBLIC_URL, without a trailing slash; a URL with a path or another scheme is refused", () => {
    assert.equal(loadConfig({}, ["--public-url", "http://pki.example.test:8080/"]).publicUrl, "http://pki.example.test:8080");
    assert.equal(loadConfig({ KEYHOLD_PUBLIC_URL: "https://[::1]:8443" }, []).publicUrl, "https://[::1]:8443");
    assert.equal(loadConfig({}, []).publicUrl, undefined);
    for (const bad of ["http://pki.example.test/ocsp", "ftp://pki.example.test", "pki.example.test", `http://${"a".repeat(300)}`])
      assert.throws(() => loadConfig({}, ["--public-url", bad]), ConfigError, bad);
  });

  it("is the OCSP URL certificates carry", async () => {
    const server = await startTestServer({ config: { publicUrl: "http://pki.example.test:8080" } });
    const c = clients(server.url);
    try {
      const { arn: caArn } = await activateCa(
        c.pca,
        caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "public url test root", {
          RevocationConfiguration: { OcspConfiguration: { Enabled: true } },
        }),
      );
      const { CertificateArn: arn } = await c.acm.send(
        new RequestCertificateCommand({ DomainName: "svc.example.test", CertificateAuthorityArn: caArn, KeyAlgorithm: "EC_prime256v1" }),
      );
      const pem = (await c.acm.send(new GetCertificateCommand({ CertificateArn: arn }))).Certificate!;
      const caId = caArn!.split("/").pop();
      assert.match(new X509Certificate(pem).infoAccess!, new RegExp(`OCSP - URI:http://pki\\.example\\.test:8080/_keyhold/ocsp/${caId}`));
    } finally {
      c.acm.destroy();
      c.pca.destroy();
      c.trail.destroy();
      await server.stop();
    }
  });
});

describe("keyhold's own HTTPS with --workers", () => {
  it("the primary makes one CA and one certificate before the workers start; every worker serves it", async (t) => {
    if (!requireTool(t, "curl", "curl")) return;
    const dataDir = tempDir();
    const server = await spawnServer(dataDir, { KEYHOLD_TLS_PORT: "0", KEYHOLD_WORKERS: "2" });
    const c = clients(server.url);
    try {
      assert.equal(server.caFile, join(dataDir, "tls", "ca.pem"));
      const cas = (await c.pca.send(new ListCertificateAuthoritiesCommand({}))).CertificateAuthorities!;
      assert.equal(cas.length, 1);
      const certs = (await c.acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["EC_prime256v1"] } }))).CertificateSummaryList!;
      assert.equal(certs.length, 1);
      const serial = hex(
        (await c.acm.send(new DescribeCertificateCommand({ CertificateArn: certs[0]!.CertificateArn }))).Certificate!.Serial!,
      );
      const ca = readFileSync(server.caFile!, "utf8");
      // Fresh connections, spread over the workers, all get the one certificate.
      for (let i = 0; i < 6; i++) assert.equal(hex((await served(server.tlsUrl!, ca)).serial), serial);
      assert.equal(await curl(server.caFile!, server.tlsUrl!), "200");
    } finally {
      c.acm.destroy();
      c.pca.destroy();
      c.trail.destroy();
      await server.kill();
    }
  });
});
