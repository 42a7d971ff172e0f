/** The AWS CLI against keyhold's S3: aws s3 mb/cp with SSE-KMS and SSE-C (over HTTPS), and the deny-unencrypted policy. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./helpers.js";
import { awsEnv, requireTool, spawnServer, type ServerProcess } from "./process.js";
import { denyUnencryptedPolicy } from "./s3.js";

describe("AWS CLI: S3 with server-side encryption", () => {
  let server: ServerProcess;
  let dir: string;
  before(async () => {
    dir = tempDir();
    server = await spawnServer(join(dir, "data"), { KEYHOLD_TLS_PORT: "0" });
  });
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  function aws(endpoint: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
    const tls = endpoint.startsWith("https:") ? ["--ca-bundle", server.caFile!] : [];
    const r = spawnSync("aws", ["--endpoint-url", endpoint, ...tls, "--output", "json", ...args], { env: awsEnv(), encoding: "utf8" });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }
  function ok(endpoint: string, ...args: string[]): string {
    const r = aws(endpoint, ...args);
    assert.equal(r.status, 0, `aws ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  it("keyhold operations lists the S3 operations with their REST bindings", () => {
    const main = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
    const r = spawnSync(process.execPath, [main, "operations"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^s3 PutObject +PUT \/<bucket>\/<key>$/m);
    assert.match(r.stdout, /^s3 CopyObject +PUT \/<bucket>\/<key> with x-amz-copy-source$/m);
    assert.match(r.stdout, /^s3 PutBucketEncryption +PUT \/<bucket>\?encryption$/m);
    assert.match(r.stdout, /^kms Encrypt /m);
  });

  it("mb, cp with --sse aws:kms and --sse-c over HTTPS, and put-bucket-policy that refuses unencrypted uploads", (t) => {
    if (!requireTool(t, "aws", "awscli")) return;
    assert.ok(server.tlsUrl && server.caFile, `the server announced its HTTPS endpoint: ${server.output()}`);
    const http = server.url;
    const https = server.tlsUrl;
    const key = JSON.parse(ok(http, "kms", "create-key", "--description", "s3 objects")) as { KeyMetadata: { KeyId: string; Arn: string } };
    ok(http, "kms", "create-alias", "--alias-name", "alias/backups", "--target-key-id", key.KeyMetadata.KeyId);
    assert.match(ok(http, "s3", "mb", "s3://cli-backups"), /make_bucket: cli-backups/);

    const file = join(dir, "report.txt");
    writeFileSync(file, "quarterly report\n".repeat(1000));
    ok(http, "s3", "cp", file, "s3://cli-backups/kms/report.txt", "--sse", "aws:kms", "--sse-kms-key-id", "alias/backups");
    const head = JSON.parse(ok(http, "s3api", "head-object", "--bucket", "cli-backups", "--key", "kms/report.txt")) as Record<
      string,
      string
    >;
    assert.equal(head.ServerSideEncryption, "aws:kms");
    assert.equal(head.SSEKMSKeyId, key.KeyMetadata.Arn);
    const back = join(dir, "back.txt");
    ok(http, "s3", "cp", "s3://cli-backups/kms/report.txt", back);
    assert.ok(readFileSync(back).equals(readFileSync(file)));
    assert.match(ok(http, "s3", "ls", "s3://cli-backups/kms/"), /report\.txt/);

    // SSE-C: only over HTTPS, once the bucket unblocks it.
    const customerKey = join(dir, "customer.key");
    writeFileSync(customerKey, randomBytes(32));
    const blocked = aws(
      https,
      "s3",
      "cp",
      file,
      "s3://cli-backups/ssec/report.txt",
      "--sse-c",
      "AES256",
      "--sse-c-key",
      `fileb://${customerKey}`,
    );
    assert.notEqual(blocked.status, 0);
    assert.match(blocked.stderr, /AccessDenied/);
    ok(
      https,
      "s3api",
      "put-bucket-encryption",
      "--bucket",
      "cli-backups",
      "--server-side-encryption-configuration",
      JSON.stringify({
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BlockedEncryptionTypes: { EncryptionType: ["NONE"] } }],
      }),
    );
    ok(https, "s3", "cp", file, "s3://cli-backups/ssec/report.txt", "--sse-c", "AES256", "--sse-c-key", `fileb://${customerKey}`);
    const ssecBack = join(dir, "ssec-back.txt");
    ok(https, "s3", "cp", "s3://cli-backups/ssec/report.txt", ssecBack, "--sse-c", "AES256", "--sse-c-key", `fileb://${customerKey}`);
    assert.ok(readFileSync(ssecBack).equals(readFileSync(file)));
    const withoutKey = aws(https, "s3", "cp", "s3://cli-backups/ssec/report.txt", join(dir, "nope.txt"));
    assert.notEqual(withoutKey.status, 0, "an SSE-C object does not download without its key");
    const overHttp = aws(
      http,
      "s3",
      "cp",
      file,
      "s3://cli-backups/ssec/plain-http.txt",
      "--sse-c",
      "AES256",
      "--sse-c-key",
      `fileb://${customerKey}`,
    );
    assert.notEqual(overHttp.status, 0);
    assert.match(overHttp.stderr, /InvalidRequest|secure connection/);

    // The classic policy: PutObject without x-amz-server-side-encryption (or with another value) is denied.
    ok(http, "s3api", "put-bucket-policy", "--bucket", "cli-backups", "--policy", denyUnencryptedPolicy("cli-backups"));
    const denied = aws(http, "s3api", "put-object", "--bucket", "cli-backups", "--key", "unencrypted", "--body", file);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /\(AccessDenied\)/);
    const put = JSON.parse(
      ok(
        http,
        "s3api",
        "put-object",
        "--bucket",
        "cli-backups",
        "--key",
        "encrypted",
        "--body",
        file,
        "--server-side-encryption",
        "AES256",
      ),
    ) as Record<string, string>;
    assert.equal(put.ServerSideEncryption, "AES256");
  });
});
