/**
 * Issued certificates are written in group commits (src/store/group-commit.ts): the writes asked
 * for in one turn of the event loop share one commit, each with its own result, and a failed
 * commit makes none of them. Through @aws-sdk/client-acm-pca: a keyhold killed with -9 right after
 * answering concurrent IssueCertificate calls has every certificate it acknowledged after a restart.
 */
import { after, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { ACMPCAClient, GetCertificateCommand, IssueCertificateCommand } from "@aws-sdk/client-acm-pca";
import { DocumentGroupCommit } from "../src/store/group-commit.js";
import type { DocumentRecord } from "../src/store/records.js";
import { SqliteRepository } from "../src/store/sqlite.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, tempDir } from "./helpers.js";
import { requireTool, spawnServer } from "./process.js";
import { activateCa, caInput, opensslCsr } from "./pca-fixture.js";

const doc = (name: string, body = "{}"): DocumentRecord => ({
  kind: "acmpca-certificate",
  accountId: "111122223333",
  name,
  body,
  revision: 1,
  createdAt: 1,
});

describe("group commit of documents", () => {
  const repo = new SqliteRepository(join(tempDir(), "k.db"));
  after(() => repo.close());

  it("writes asked for in one turn share one commit, each with its own result", async () => {
    const group = new DocumentGroupCommit(repo);
    const results = await Promise.all([group.put(doc("a"), "new"), group.put(doc("b"), "new"), group.put(doc("a", '{"x":1}'), "new")]);
    assert.deepEqual(results, [true, true, false], "the second write of a is refused, as putDocument refuses it");
    assert.equal(group.commits, 1);
    assert.equal(group.documents, 3);
    assert.equal((await repo.getDocument("acmpca-certificate", "111122223333", "a"))?.body, "{}");
    // A write in a later turn makes its own commit.
    assert.equal(await group.put(doc("c"), "new"), true);
    assert.equal(group.commits, 2);
  });

  it("keeps a group open while the turns after it bring more writes; with no wait allowed each turn commits its own", async () => {
    const waiting = new DocumentGroupCommit(repo, 64, 60_000);
    // Each write in a turn of its own, each turn scheduled by the one before: one group.
    const chained = (group: DocumentGroupCommit, names: string[]) =>
      new Promise<boolean[]>((resolve) => {
        const out: Promise<boolean>[] = [];
        const next = (i: number) => {
          if (i === names.length) return resolve(Promise.all(out));
          out.push(group.put(doc(names[i]!), "new"));
          setImmediate(() => next(i + 1));
        };
        next(0);
      });
    assert.deepEqual(await chained(waiting, ["k1", "k2", "k3"]), [true, true, true]);
    assert.equal(waiting.commits, 1);
    const eager = new DocumentGroupCommit(repo, 64, 0);
    assert.deepEqual(await chained(eager, ["m1", "m2", "m3"]), [true, true, true]);
    assert.equal(eager.commits, 3);
  });

  it("commits a group at once when it reaches its bound", async () => {
    const group = new DocumentGroupCommit(repo, 2);
    const results = await Promise.all(["d", "e", "f", "g", "h"].map((n) => group.put(doc(n), "new")));
    assert.deepEqual(results, [true, true, true, true, true]);
    assert.equal(group.commits, 3, "2 + 2 + 1");
  });

  it("fails every write of a commit that fails, and makes none of them", async () => {
    const group = new DocumentGroupCommit(repo);
    const broken = { ...doc("j"), body: null as unknown as string }; // body is NOT NULL
    const settled = await Promise.allSettled([group.put(doc("i"), "new"), group.put(broken, "new")]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ["rejected", "rejected"],
    );
    assert.equal(await repo.getDocument("acmpca-certificate", "111122223333", "i"), undefined);
    // The next group is not held up by the failed one.
    assert.equal(await group.put(doc("i"), "new"), true);
  });
});

describe("IssueCertificate with group commit", () => {
  it("has every certificate it acknowledged after kill -9 and a restart", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const dataDir = tempDir();
    const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
    let server = await spawnServer(dataDir);
    let pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 });
    try {
      const { arn, certificate } = await activateCa(pca, caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "group commit root"));
      const csr = opensslCsr(tempDir(), "durable", { subject: "/CN=durable.internal", outform: "DER" });
      // Concurrent requests, so their certificates share commits; the server dies the moment the last answer is in.
      const issued = await Promise.all(
        Array.from({ length: 12 }, () =>
          pca.send(
            new IssueCertificateCommand({
              CertificateAuthorityArn: arn,
              Csr: csr,
              SigningAlgorithm: "SHA256WITHECDSA",
              Validity: { Type: "DAYS", Value: 10 },
            }),
          ),
        ),
      );
      await server.kill("SIGKILL");
      pca.destroy();

      server = await spawnServer(dataDir);
      pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 });
      const arns = issued.map((i) => i.CertificateArn!);
      assert.equal(new Set(arns).size, 12, "twelve distinct certificates");
      for (const certificateArn of arns) {
        const got = await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn: certificateArn }));
        const cert = new X509Certificate(got.Certificate!);
        assert.equal(cert.serialNumber.toLowerCase().replace(/^0+/, ""), certificateArn.split("/").pop());
        assert.equal(cert.subject, "CN=durable.internal");
        assert.ok(cert.verify(new X509Certificate(certificate).publicKey), "signed by the root");
      }
    } finally {
      pca.destroy();
      await server.kill();
    }
  });
});
