/**
 * The seams ACM and the OCSP responder code against (src/acmpca/issuer.ts): issue and revoke on a
 * caller's behalf, authorized as acm-pca:IssueCertificate / RevokeCertificate on the CA; status
 * and authority by CA id from any account; the delegated OCSP signer. openssl judges the
 * certificates.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID, verify, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { GetUserCommand } from "@aws-sdk/client-iam";
import type { CallContext } from "../src/call.js";
import type { Principal } from "../src/iam/principal.js";
import { ACCOUNT_ID, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { activateCa, caInput, opensslCsr } from "./pca-fixture.js";

let server: TestServer;
let pca: ACMPCAClient;
let dir: string;

function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

function call(principal: Principal, action: string): CallContext {
  return {
    accountId: principal.accountId,
    region: "us-east-1",
    accessKeyId: "AKIAEXAMPLE",
    principal,
    time: Date.now(),
    secureTransport: true,
    requestId: randomUUID(),
    action,
    trail: { resources: [] },
  };
}

const ROOT: Principal = { type: "Root", accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:root`, principalId: ACCOUNT_ID };

describe("PrivateCertificateIssuer and CertificateStatusSource", () => {
  let caArn: string;
  let caId: string;
  let caPath: string;

  before(async () => {
    server = await startTestServer();
    pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    dir = tempDir("keyhold-pca-issuer-");
    const ca = await activateCa(
      pca,
      caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "issuer seam root", {
        RevocationConfiguration: { OcspConfiguration: { Enabled: true } },
      }),
    );
    caArn = ca.arn;
    caId = ca.id;
    const Certificate = ca.certificate;
    caPath = join(dir, "ca.pem");
    writeFileSync(caPath, Certificate!);
  });
  after(async () => {
    pca.destroy();
    await server.stop();
  });

  it("issues for the caller with the CA's signing algorithm; status follows revocation", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const csrDer = opensslCsr(dir, "svc", { newkey: "rsa:2048", subject: "/CN=svc.internal", san: "DNS:svc.internal", outform: "DER" });
    const issuer = server.keyhold.acmPcaIssuer;
    const issued = await issuer.issue(call(ROOT, "acm-pca:IssueCertificate"), { certificateAuthorityArn: caArn, csrDer, validityDays: 13 });
    const leaf = join(dir, "svc.pem");
    writeFileSync(leaf, issued.certificatePem);
    assert.match(openssl("verify", "-CAfile", caPath, leaf), /OK/);
    assert.equal(issued.chainPem.trim(), openssl("x509", "-in", caPath).trim());
    const serial = openssl("x509", "-in", leaf, "-noout", "-serial").trim().split("=")[1]!.toLowerCase().replace(/^0+/, "");
    assert.equal(issued.serialHex, serial);
    assert.ok(Math.abs(issued.notAfter.getTime() - Date.now() - 13 * 86_400_000) < 60_000);
    assert.match(openssl("x509", "-in", leaf, "-noout", "-ext", "authorityInfoAccess"), new RegExp(`OCSP - URI:.*/_keyhold/ocsp/${caId}`));

    assert.deepEqual(await issuer.status(caId, issued.serialHex), { status: "good" });
    await issuer.revoke(call(ROOT, "acm-pca:RevokeCertificate"), {
      certificateAuthorityArn: caArn,
      serialHex: issued.serialHex,
      reason: "KEY_COMPROMISE",
    });
    const revoked = await issuer.status(caId, issued.serialHex.toUpperCase());
    assert.equal(revoked.status, "revoked");
    assert.equal(revoked.status === "revoked" && revoked.reason, "KEY_COMPROMISE");
    assert.deepEqual(await issuer.status(caId, "abcdef"), { status: "unknown" });
    assert.deepEqual(await issuer.status("00000000-0000-4000-8000-000000000000", issued.serialHex), { status: "unknown" });
    await assert.rejects(
      issuer.revoke(call(ROOT, "acm-pca:RevokeCertificate"), {
        certificateAuthorityArn: caArn,
        serialHex: issued.serialHex,
        reason: "KEY_COMPROMISE",
      }),
      (e: Error & { code?: string }) => e.code === "RequestAlreadyProcessedException",
    );
  });

  it("refuses a caller IAM does not allow acm-pca:IssueCertificate on the CA", async () => {
    const iam = iamClient(server.url);
    try {
      await makeUser(iam, "acm-only", { acm: policy({ Effect: "Allow", Action: "acm:*", Resource: "*" }) });
      const user = (await iam.send(new GetUserCommand({ UserName: "acm-only" }))).User!;
      const principal: Principal = {
        type: "IAMUser",
        accountId: ACCOUNT_ID,
        arn: user.Arn!,
        principalId: user.UserId!,
        userName: "acm-only",
      };
      await assert.rejects(
        server.keyhold.acmPcaIssuer.issue(call(principal, "acm-pca:IssueCertificate"), {
          certificateAuthorityArn: caArn,
          csrDer: Buffer.from("x"),
          validityDays: 1,
        }),
        (e: Error & { code?: string }) => e.code === "AccessDeniedException",
      );
    } finally {
      iam.destroy();
    }
  });

  it("gives the CA by id and a delegated OCSP signer the CA issued", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const issuer = server.keyhold.acmPcaIssuer;
    const authority = await issuer.authority(caId);
    assert.equal(authority!.arn, caArn);
    assert.equal(authority!.status, "ACTIVE");
    assert.equal(authority!.ocspEnabled, true);
    assert.ok(new X509Certificate(authority!.certificateDer).verify(new X509Certificate(authority!.certificateDer).publicKey));
    assert.equal(await issuer.authority("00000000-0000-4000-8000-000000000000"), undefined);

    const responder = await issuer.responder(caId);
    assert.equal(responder.signatureAlgorithmOid, "1.2.840.10045.4.3.2");
    const path = join(dir, "responder.pem");
    writeFileSync(path, new X509Certificate(responder.certificateDer).toString());
    assert.match(openssl("verify", "-CAfile", caPath, path), /OK/);
    const text = openssl("x509", "-in", path, "-noout", "-text");
    assert.match(text, /Extended Key Usage: critical\s+OCSP Signing/);
    assert.match(text, /OCSP No Check/);
    const tbs = Buffer.from("to be signed");
    const signature = await responder.sign(tbs);
    assert.ok(verify("sha256", tbs, new X509Certificate(responder.certificateDer).publicKey, signature));
    // Kept: the same signer again.
    assert.ok((await issuer.responder(caId)).certificateDer.equals(responder.certificateDer));
  });
});
