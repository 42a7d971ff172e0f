/**
 * The floor of an audited Encrypt: a node:http server doing only what issues 4 and 5 require of
 * every call, each the cheapest way we know, and nothing keyhold does beyond that — no key
 * lookup, no validation, no authorization, no KMS ciphertext format, no lookup index. Per request:
 * keyhold's own SigV4 verification against one fixed identity, AES-256-GCM, a CloudTrail-shaped
 * record of the call (JSON), its link in a SHA-256 hash chain, and a group-committed append of the
 * record to a file by a writer thread before the response leaves — `--sync commit` fdatasyncs
 * each commit, `--sync periodic` writes it to the operating system only (it survives kill -9, as
 * keyhold's `--audit-sync periodic`). `--workers N` runs N such processes, each with its own chain.
 *
 * What keyhold reaches against the bare server can be read against what this floor reaches: the
 * difference is keyhold's, the rest is the machine's.
 */
import cluster from "node:cluster";
import { createCipheriv, hash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { chainedRecord } from "../src/audit/store.js";
import { verifySigV4, type SigningIdentity } from "../src/http/sigv4.js";
import { ACCESS_KEY_ID, SECRET } from "./servers.js";

const { values } = parseArgs({ options: { workers: { type: "string", default: "1" }, sync: { type: "string", default: "commit" } } });
const workers = Number(values.workers);
const account = "000000000000";

if (cluster.isWorker) {
  serve(process.env.FLOOR_DIR!);
  process.on("disconnect", () => process.exit(0));
} else {
  // The chains are throw-away files, removed when the floor is stopped.
  const dir = mkdtempSync(join(tmpdir(), "keyhold-floor-"));
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  if (workers > 1) {
    let listening = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork({ FLOOR_DIR: dir }).on("message", (port: number) => {
        if (++listening === workers) process.stdout.write(`floor listening on ${port}\n`);
      });
    }
  } else {
    serve(dir);
  }
}

function serve(dir: string): void {
  const key = randomBytes(32);
  const identity: SigningIdentity = {
    accessKeyId: ACCESS_KEY_ID,
    accountId: account,
    secretAccessKey: SECRET,
    principal: { type: "Root", principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account },
  };
  const lookup = async () => identity;
  const writer = new Worker(new URL("./floor-writer.js", import.meta.url), {
    workerData: { path: join(dir, `chain-${process.pid}.log`), fsync: values.sync === "commit" },
  });
  const waiting = new Map<number, (() => void)[]>();
  let queue: { text: string; resolve: () => void }[] = [];
  let scheduled = false;
  let nextId = 1;
  const chain = String(cluster.worker?.id ?? 1);
  let seq = 0;
  let previous: Buffer = Buffer.alloc(32);
  writer.on("message", (ids: number[]) => {
    for (const id of ids) for (const resolve of waiting.get(id) ?? []) resolve();
    for (const id of ids) waiting.delete(id);
  });
  // Group commit: each turn of the event loop's records go to the writer as one message.
  const flush = () => {
    scheduled = false;
    const id = nextId++;
    waiting.set(
      id,
      queue.map((q) => q.resolve),
    );
    writer.postMessage({ id, text: queue.map((q) => q.text).join("") });
    queue = [];
  };
  const record = (text: string) =>
    new Promise<void>((resolve) => {
      queue.push({ text, resolve });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      try {
        await verifySigV4(
          { method: req.method ?? "POST", rawPath: req.url ?? "/", rawQuery: "", headers: req.headers, body: raw },
          { service: "kms", now: Date.now(), lookup },
        );
      } catch {
        res.writeHead(400).end();
        return;
      }
      const body = JSON.parse(raw.toString("utf8")) as { KeyId?: string; Plaintext?: string };
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const sealed = Buffer.concat([iv, cipher.update(Buffer.from(body.Plaintext ?? "", "base64")), cipher.final(), cipher.getAuthTag()]);
      const keyArn = `arn:aws:kms:us-east-1:${account}:key/${body.KeyId}`;
      const requestId = randomUUID();
      const event = JSON.stringify({
        eventVersion: "1.11",
        userIdentity: { type: "Root", principalId: account, arn: identity.principal.arn, accountId: account, accessKeyId: ACCESS_KEY_ID },
        eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        eventSource: "kms.amazonaws.com",
        eventName: "Encrypt",
        awsRegion: "us-east-1",
        sourceIPAddress: req.socket.remoteAddress ?? null,
        userAgent: req.headers["user-agent"] ?? null,
        requestParameters: { keyId: body.KeyId, encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        responseElements: null,
        requestID: requestId,
        eventID: randomUUID(),
        readOnly: true,
        resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: keyArn }],
        eventType: "AwsApiCall",
        managementEvent: true,
        recipientAccountId: account,
        eventCategory: "Management",
      });
      // The chain link exactly as keyhold writes it, one record per line.
      const text = chainedRecord(event.slice(0, -1), chain, ++seq, previous);
      previous = hash("sha256", text, "buffer") as unknown as Buffer;
      await record(text + "\n");
      const payload = JSON.stringify({
        CiphertextBlob: sealed.toString("base64"),
        KeyId: keyArn,
        EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      });
      res.writeHead(200, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(payload),
        "x-amzn-requestid": requestId,
      });
      res.end(payload);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port;
    if (cluster.isWorker) process.send!(port);
    else process.stdout.write(`floor listening on ${port}\n`);
  });
}
