/** `keyhold server --workers 2`: processes sharing the port and the SQLite file see each other's changes. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer, type ServerProcess } from "./process.js";

/** A client that opens a new connection per request, so requests spread over the workers. */
function freshConnectionClient(url: string): KMSClient {
  return kmsClient(url, { requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false }) }) });
}

async function outcomes(kms: KMSClient, keyId: string, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") })).then(
        () => "ok",
        (e: Error) => e.name,
      ),
    ),
  );
}

describe("several worker processes on one database", () => {
  let dir: string;
  let server: ServerProcess;
  let kms: KMSClient;
  before(async () => {
    dir = tempDir();
    server = await spawnServer(join(dir, "data"), { KEYHOLD_WORKERS: "2" });
    kms = freshConnectionClient(server.url);
  });
  after(async () => {
    kms.destroy();
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts two workers behind one port", () => {
    assert.match(server.output(), /with 2 workers/);
  });

  it("a key disabled through one worker is refused by every worker at once, and usable again once enabled", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Warm every worker's cache with the key while it is enabled.
    assert.deepEqual(new Set(await outcomes(kms, keyId, 16)), new Set(["ok"]));
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    assert.deepEqual(new Set(await outcomes(kms, keyId, 16)), new Set(["DisabledException"]));
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    assert.deepEqual(new Set(await outcomes(kms, keyId, 16)), new Set(["ok"]));
  });
});
