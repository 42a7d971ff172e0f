/** `keyhold server --workers 2`: processes sharing the port and the SQLite file see each other's changes. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CloudTrailClient, LookupEventsCommand, type Event } from "@aws-sdk/client-cloudtrail";
import {
  AddUserToGroupCommand,
  CreateGroupCommand,
  DeleteUserPolicyCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, kmsClient, tempDir } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
import { spawnServer, type ServerProcess } from "./process.js";
import { SERVER_NODE_FLAGS, workerExecArgv } from "../src/cli/server.js";
import { iamClient, makeUser, policy, type Creds } from "./iam.js";

/** A client that opens a new connection per request, so requests spread over the workers. */
function freshConnectionClient(url: string, credentials?: Creds): KMSClient {
  return kmsClient(url, {
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false }) }),
    ...(credentials && { credentials }),
  });
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

  it("starts two workers behind one port, each with keyhold's node flags", () => {
    assert.match(server.output(), /with 2 workers/);
    const pid = server.child.pid!;
    const workers = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean),
    );
    assert.equal(workers.length, 2);
    for (const worker of workers) {
      const argv = readFileSync(`/proc/${worker}/cmdline`, "utf8").split("\0");
      for (const flag of SERVER_NODE_FLAGS) assert.ok(argv.includes(flag), `worker ${worker}: ${argv.join(" ")}`);
    }
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

  it("each worker keeps its own audit chain; LookupEvents reads them all and the export verifies", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Description: "chains" }))).KeyMetadata!.KeyId!;
    await outcomes(kms, keyId, 24);
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false }) }),
    });
    const events: Event[] = [];
    let token: string | undefined;
    do {
      const page = await trail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Encrypt" }], NextToken: token }),
      );
      events.push(...page.Events!);
      token = page.NextToken;
    } while (token);
    trail.destroy();
    assert.equal(events.length, 16 * 3 + 24, "every Encrypt, once");
    assert.equal(new Set(events.map((e) => e.EventId)).size, events.length);
    const chains = new Set(events.map((e) => JSON.parse(e.CloudTrailEvent!).additionalEventData.keyholdChain as string));
    assert.deepEqual([...chains].sort(), ["1", "2"]);

    const out = join(dir, "export");
    const exp = spawnSync(process.execPath, [MAIN, "audit", "export", "--data-dir", join(dir, "data"), "--out", out], { encoding: "utf8" });
    assert.equal(exp.status, 0, exp.stderr);
    const ver = spawnSync(process.execPath, [MAIN, "audit", "verify", out], { encoding: "utf8" });
    assert.equal(ver.status, 0, ver.stdout + ver.stderr);
  });

  // Each worker keeps what it derived from a user's documents (its identity, its policies) while
  // the database has not changed: a change made through the other worker must end that at once.
  it("an IAM user's permissions and access key changed through one worker bind every worker at once", async () => {
    const iam = iamClient(server.url);
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const allow = policy({ Effect: "Allow", Action: "kms:Encrypt", Resource: "*" });
    const creds = await makeUser(iam, "worker-user", { own: allow });
    const user = freshConnectionClient(server.url, creds);
    try {
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["ok"]));
      await iam.send(new DeleteUserPolicyCommand({ UserName: "worker-user", PolicyName: "own" }));
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["AccessDeniedException"]));

      await iam.send(new CreateGroupCommand({ GroupName: "worker-group" }));
      await iam.send(new PutGroupPolicyCommand({ GroupName: "worker-group", PolicyName: "group", PolicyDocument: allow }));
      await iam.send(new AddUserToGroupCommand({ GroupName: "worker-group", UserName: "worker-user" }));
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["ok"]));
      await iam.send(
        new PutGroupPolicyCommand({
          GroupName: "worker-group",
          PolicyName: "group",
          PolicyDocument: policy({ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }),
        }),
      );
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["AccessDeniedException"]));
      await iam.send(new PutUserPolicyCommand({ UserName: "worker-user", PolicyName: "own", PolicyDocument: allow }));
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["ok"]));
      await iam.send(new RemoveUserFromGroupCommand({ GroupName: "worker-group", UserName: "worker-user" }));
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["ok"]));

      await iam.send(new UpdateAccessKeyCommand({ UserName: "worker-user", AccessKeyId: creds.accessKeyId, Status: "Inactive" }));
      assert.deepEqual(new Set(await outcomes(user, keyId, 16)), new Set(["UnrecognizedClientException"]));
    } finally {
      user.destroy();
      iam.destroy();
    }
  });
});

describe("the node flags a server process starts with (SERVER_NODE_FLAGS)", () => {
  it("are in the bin's shebang and in npm start", () => {
    const shebang = readFileSync(MAIN, "utf8").split("\n")[0]!;
    assert.deepEqual(shebang.split(" ").slice(2), ["node", ...SERVER_NODE_FLAGS]);
    assert.equal(shebang.split(" ").slice(0, 2).join(" "), "#!/usr/bin/env -S");
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts.start, `node ${SERVER_NODE_FLAGS.join(" ")} dist/src/cli/main.js server`);
  });

  it("are given to workers before the primary's own flags, unless the primary was given a value of its own", () => {
    assert.deepEqual(workerExecArgv([], undefined), [...SERVER_NODE_FLAGS]);
    assert.deepEqual(workerExecArgv(["--enable-source-maps"], ""), [...SERVER_NODE_FLAGS, "--enable-source-maps"]);
    assert.deepEqual(workerExecArgv(["--max-semi-space-size=2"], undefined), ["--max-semi-space-size=2"]);
    assert.deepEqual(workerExecArgv(["--max_semi_space_size=4"], undefined), ["--max_semi_space_size=4"]);
    assert.deepEqual(workerExecArgv([], "--max-old-space-size=512 --max-semi-space-size=16"), []);
  });
});
