/**
 * Private CA keys in keyhold's HSM (issue 24), on a SoftHSM2 token through @aws-sdk/client-acm-pca:
 * with an HSM as root of trust, a CA of the FIPS_140_2_LEVEL_3_OR_HIGHER standard (AWS's default)
 * has its key pair generated in the token, which pkcs11-tool lists as a private, sensitive, never
 * extractable object; every signature is made there and `openssl verify` accepts the chain. A
 * LEVEL_2 CA and an ML-DSA CA keep a software key wrapped under the hierarchy; a restarted server
 * signs with the token's key again; a purged CA's key leaves the token.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACMPCAClient,
  DeleteCertificateAuthorityCommand,
  DescribeCertificateAuthorityCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  UpdateCertificateAuthorityCommand,
  type CreateCertificateAuthorityCommandInput,
} from "@aws-sdk/client-acm-pca";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { ACCOUNT_ID, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { pinFile, pkcs11Tool, requireSoftHsm, type SoftHsm } from "./softhsm.js";
import { judgeIssued } from "./ml-dsa-judge.js";
import { activateCa, caInput, opensslCsr, type CaIssuer } from "./pca-fixture.js";

const PIN = "pin-pca-7731-secret";
const LABEL = "kh-pca";

let hsm: SoftHsm | undefined;
let server: TestServer;
let pca: ACMPCAClient;
let dir: string;
let dataDir: string;
const clock = new ManualClock(Date.now());

function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** pkcs11-tool's private-key objects of the token, one block each. */
function privateKeys(): string[] {
  const listed = pkcs11Tool(hsm!, ["--token-label", LABEL, "--login", "--pin", PIN, "--list-objects", "--type", "privkey"]);
  assert.equal(listed.status, 0, listed.out);
  return listed.out.split(/^(?=Private Key Object)/m).filter((b) => b.startsWith("Private Key Object"));
}

async function start(): Promise<void> {
  server = await startTestServer({
    dataDir,
    clock,
    config: { hsmModule: hsm!.module, hsmTokenLabel: LABEL, hsmPinFile: pinFile(PIN) },
  });
  pca = new ACMPCAClient({
    endpoint: server.url,
    region: "us-east-1",
    credentials: ROOT_CREDS,
    maxAttempts: 1,
    systemClockOffset: clock.now() - Date.now(),
  });
}

async function stop(): Promise<void> {
  pca.destroy();
  await server.stop();
}

function caOf(type: "ROOT" | "SUBORDINATE", key: string, signing: string, cn: string, standard?: string) {
  return caInput(type, key, signing, cn, { KeyStorageSecurityStandard: standard as never });
}

function activeCa(input: CreateCertificateAuthorityCommandInput, parent?: CaIssuer) {
  return activateCa(pca, input, parent);
}

async function issueLeaf(caArn: string, signing: string, name: string): Promise<string> {
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: caArn,
      Csr: opensslCsr(dir, name),
      SigningAlgorithm: signing as never,
      Validity: { Type: "DAYS", Value: 30 },
    }),
  );
  return (await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: caArn, CertificateArn }))).Certificate!;
}

function verify(root: string, sub: string, leaf: string): string {
  const r = spawnSync(
    "openssl",
    ["verify", "-CAfile", file("root.pem", root), "-untrusted", file("sub.pem", sub), file("leaf.pem", leaf)],
    {
      encoding: "utf8",
    },
  );
  return r.stdout + r.stderr;
}

async function stored(id: string) {
  const ca = await server.keyhold.acmPca.loadAnywhere(id);
  return ca!.body;
}

describe("private CA keys in the HSM", () => {
  let root: Awaited<ReturnType<typeof activeCa>>;
  let sub: Awaited<ReturnType<typeof activeCa>>;

  before(async (t) => {
    hsm = requireSoftHsm(t as unknown as TestContext);
    if (!hsm) return;
    hsm.token(LABEL, PIN);
    dir = tempDir("keyhold-hsm-pca-");
    dataDir = join(tempDir(), "data");
    await start();
  });
  after(async () => {
    if (hsm) await stop();
  });

  it("generates a level 3 CA's key in the token, never extractable, and signs a chain there that openssl verifies", async (t: TestContext) => {
    if (!hsm || !requireTool(t, "openssl", "openssl")) return;
    root = await activeCa(caOf("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "hsm root"));
    sub = await activeCa(caOf("SUBORDINATE", "RSA_2048", "SHA256WITHRSA", "hsm sub", "FIPS_140_2_LEVEL_3_OR_HIGHER"), {
      arn: root.arn,
      signing: "SHA256WITHECDSA",
    });
    const described = await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn }));
    assert.equal(described.CertificateAuthority!.KeyStorageSecurityStandard, "FIPS_140_2_LEVEL_3_OR_HIGHER");

    const keys = privateKeys();
    for (const [ca, type] of [
      [root, "EC"],
      [sub, "RSA"],
    ] as const) {
      const block = keys.find((b) => b.includes(`label:      keyhold:acm-pca:${ca.id}`));
      assert.ok(block, `the token lists the key of ${ca.id}:\n${keys.join("")}`);
      assert.match(block, new RegExp(`^Private Key Object; ${type}`));
      assert.match(block, /ID:\s+[0-9a-f]{32}/);
      assert.equal(/ID:\s+([0-9a-f]+)/.exec(block)![1], ca.id.replace(/-/g, ""));
      assert.match(block, /Access:\s+sensitive, always sensitive, never extractable, local/);
      assert.match(block, /Usage:\s+sign$/m);
      // keyhold keeps no copy of it: only where it is in the token.
      const body = await stored(ca.id);
      assert.equal(body.wrappedKey, "");
      assert.deepEqual(body.hsmKey, { label: `keyhold:acm-pca:${ca.id}`, id: ca.id.replace(/-/g, "") });
    }
    // The CA's CSR, its certificates, and a leaf: each signature made in the token, each accepted by openssl.
    const csrCheck = spawnSync("openssl", ["req", "-in", file("root.csr", root.csr), "-noout", "-verify"], { encoding: "utf8" });
    assert.match(csrCheck.stdout + csrCheck.stderr, /verify OK/i);
    const leaf = await issueLeaf(sub.arn, "SHA256WITHRSA", "hsm-leaf");
    assert.match(verify(root.certificate, sub.certificate, leaf), /leaf\.pem: OK/);
  });

  it("keeps a LEVEL_2 CA's key and an ML-DSA CA's key in software, wrapped under the hierarchy", async () => {
    if (!hsm) return;
    const before = privateKeys().length;
    const level2 = await activeCa(caOf("ROOT", "EC_secp384r1", "SHA384WITHECDSA", "software root", "FIPS_140_2_LEVEL_2_OR_HIGHER"));
    const pq = await activeCa(caOf("ROOT", "ML_DSA_65", "ML_DSA_65", "pq root"));
    judgeIssued(pq.certificate, pq.certificate);
    assert.equal(privateKeys().length, before, "no new key in the token");
    for (const ca of [level2, pq]) {
      const body = await stored(ca.id);
      assert.equal(body.hsmKey, undefined);
      assert.ok(body.wrappedKey.length > 0);
    }
  });

  it("signs with the token's key after a restart, and destroys it when the CA is purged", async (t: TestContext) => {
    if (!hsm || !requireTool(t, "openssl", "openssl")) return;
    await stop();
    await start();
    const leaf = await issueLeaf(sub.arn, "SHA256WITHRSA", "after-restart");
    assert.match(verify(root.certificate, sub.certificate, leaf), /leaf\.pem: OK/);

    await pca.send(new UpdateCertificateAuthorityCommand({ CertificateAuthorityArn: sub.arn, Status: "DISABLED" }));
    await pca.send(new DeleteCertificateAuthorityCommand({ CertificateAuthorityArn: sub.arn, PermanentDeletionTimeInDays: 7 }));
    assert.ok(
      privateKeys().some((b) => b.includes(sub.id)),
      "kept while the CA can be restored",
    );
    clock.advance(8 * DAY_MS);
    await server.keyhold.acmPca.purgeDeleted([ACCOUNT_ID]);
    assert.equal(
      privateKeys().some((b) => b.includes(`keyhold:acm-pca:${sub.id}`)),
      false,
      "the purged CA's key is gone from the token",
    );
    assert.ok(
      privateKeys().some((b) => b.includes(`keyhold:acm-pca:${root.id}`)),
      "the root's key stays",
    );
  });
});
