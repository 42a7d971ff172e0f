/** Two keyhold nodes on one PostgreSQL database: what one changes, the other enforces at once. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { rmSync } from "node:fs";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { GetAccessKeyLastUsedCommand, IAMClient } from "@aws-sdk/client-iam";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, startTestServer, tempDir, type TestServer } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

const missing = postgresMissing();

describe("three nodes on one PostgreSQL database", () => {
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  let three: TestServer;
  let a: KMSClient;
  let b: KMSClient;
  let c: KMSClient;
  const shared = tempDir("keyhold-cluster-");
  before(async () => {
    if (missing) return;
    pg = await startPostgres();
    // Both nodes unseal the same root key: same database, same master key file.
    const config = { databaseUrl: pg.url, masterKeyFile: join(shared, "master.key") };
    one = await startTestServer({ config });
    two = await startTestServer({ config });
    three = await startTestServer({ config });
    a = one.client();
    b = two.client();
    c = three.client();
  });
  after(async () => {
    if (!missing) {
      await one.stop();
      await two.stop();
      await three.stop();
      pg.stop();
    }
    rmSync(shared, { recursive: true, force: true });
  });

  it("a key made on node 1 is used on node 2; disabled on node 3, nodes 1 and 2 refuse it within a second", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const KeyId = (await a.send(new CreateKeyCommand({ Description: "shared" }))).KeyMetadata!.KeyId!;
    const blob = (await b.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("across nodes") }))).CiphertextBlob!;
    assert.equal(Buffer.from((await a.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), "across nodes");
    // Both nodes have the key cached as Enabled now.
    await a.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("warm") }));
    await c.send(new DisableKeyCommand({ KeyId }));
    for (const [name, client] of [
      ["1", a],
      ["2", b],
    ] as const) {
      const start = Date.now();
      let refused = false;
      while (!refused && Date.now() - start < 1000) {
        try {
          await client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));
          await new Promise((r) => setTimeout(r, 10));
        } catch (e) {
          assert.equal((e as Error).name, "DisabledException");
          refused = true;
        }
      }
      assert.ok(refused, `node ${name} refuses the disabled key within a second`);
    }
    await b.send(new EnableKeyCommand({ KeyId }));
    const deadline = Date.now() + 1000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = await a.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })).then(
        () => true,
        () => false,
      );
    }
    assert.ok(ok, "node one uses it again once node two enabled it");
  });

  it("rotation on one node while the others encrypt: every ciphertext decrypts on every node", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const KeyId = (await a.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blobs: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      blobs.push((await (i % 2 ? b : c).send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(`v${i}`) }))).CiphertextBlob!);
      await a.send(new RotateKeyOnDemandCommand({ KeyId }));
    }
    for (const [i, blob] of blobs.entries()) {
      for (const client of [a, b, c]) {
        assert.equal(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), `v${i}`);
      }
    }
  });

  it("the audit trail is shared: any node looks up every node's calls, and the exported trail verifies", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const KeyId = (await a.send(new CreateKeyCommand({ Description: "audited across nodes" }))).KeyMetadata!.KeyId!;
    const onTwo = await b.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("audited") }));
    const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
    const trail = new CloudTrailClient({ endpoint: three.url, region: "us-east-1", credentials, maxAttempts: 1 });
    const events = (
      await trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${KeyId}` }],
        }),
      )
    ).Events!;
    trail.destroy();
    assert.deepEqual(events.map((e) => e.EventName).sort(), ["CreateKey", "Encrypt"]);
    // Node 1 reads node 3's events too: the root key's last call was that LookupEvents.
    const iam = new IAMClient({ endpoint: one.url, region: "us-east-1", credentials, maxAttempts: 1 });
    const used = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: ACCESS_KEY_ID }))).AccessKeyLastUsed!;
    iam.destroy();
    assert.equal(used.ServiceName, "cloudtrail");
    assert.equal(used.Region, "us-east-1");
    const chains = new Set(events.map((e) => JSON.parse(e.CloudTrailEvent!).additionalEventData.keyholdChain as string));
    assert.equal(chains.size, 2, "the calls came through two nodes' chains");
    const last = await c.send(new GetKeyLastUsageCommand({ KeyId }));
    assert.equal(last.KeyLastUsage!.KmsRequestId, onTwo.$metadata.requestId, "node 3 knows node 2 used the key");

    assert.ok((await one.keyhold.audit.digest()) >= 1);
    const out = join(shared, "export");
    const exp = spawnSync(process.execPath, [MAIN, "audit", "export", "--database-url", pg.url, "--out", out], { encoding: "utf8" });
    assert.equal(exp.status, 0, exp.stderr);
    const ver = spawnSync(process.execPath, [MAIN, "audit", "verify", out], { encoding: "utf8" });
    assert.equal(ver.status, 0, ver.stdout + ver.stderr);
    assert.match(ver.stdout, /^OK: \d+ events, \d+ digests/m);
  });

  it("two nodes creating the same alias at once: exactly one succeeds", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const KeyId = (await a.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const results = await Promise.allSettled([
      a.send(new CreateAliasCommand({ AliasName: "alias/race", TargetKeyId: KeyId })),
      b.send(new CreateAliasCommand({ AliasName: "alias/race", TargetKeyId: KeyId })),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal((failed.reason as Error).name, "AlreadyExistsException");
  });
});
