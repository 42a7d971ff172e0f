/**
 * S3 on two keyhold nodes sharing one PostgreSQL database and one object directory (the
 * deployment docs/deployment.md describes): what one node writes, the other reads, lists in byte
 * order, and deletes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, tempDir, rejects, type TestServer } from "./helpers.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";
import { bytesOf, s3Client } from "./s3.js";

const missing = postgresMissing();

describe("S3 on two nodes sharing PostgreSQL and the object directory", () => {
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  let a: S3Client;
  let b: S3Client;
  const shared = tempDir("keyhold-s3-cluster-");
  before(async () => {
    if (missing) return;
    pg = await startPostgres();
    const config = { databaseUrl: pg.url, masterKeyFile: join(shared, "master.key") };
    // Each node has its own data directory (its node id, its TLS files); only s3/objects is shared,
    // as a mount from shared storage would be — here a symbolic link.
    mkdirSync(join(shared, "objects"));
    for (const node of ["one", "two"]) {
      mkdirSync(join(shared, node, "s3"), { recursive: true });
      symlinkSync(join(shared, "objects"), join(shared, node, "s3", "objects"));
    }
    one = await startTestServer({ config, dataDir: join(shared, "one") });
    two = await startTestServer({ config, dataDir: join(shared, "two") });
    a = s3Client(one.url);
    b = s3Client(two.url);
  });
  after(async () => {
    if (!missing) {
      a.destroy();
      b.destroy();
      await one.stop();
      await two.stop();
      pg.stop();
    }
    rmSync(shared, { recursive: true, force: true });
  });

  it("a second server on a node's data directory is refused at start, in words: the audit chain is that node's", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    await assert.rejects(
      () => startTestServer({ config: { databaseUrl: pg.url, masterKeyFile: join(shared, "master.key") }, dataDir: join(shared, "one") }),
      /audit chain .* is in use by another keyhold process: every node needs its own data directory/,
    );
    // The node itself is unaffected.
    await a.send(new CreateBucketCommand({ Bucket: "still-serving" }));
  });

  it("objects written through one node are read, listed in byte order and deleted through the other", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    await a.send(new CreateBucketCommand({ Bucket: "shared-bucket" }));
    await rejects(() => b.send(new CreateBucketCommand({ Bucket: "shared-bucket" })), "BucketAlreadyOwnedByYou");
    const keys = ["b", "B", "a/1", "A/1", "é", "z"];
    for (const [i, Key] of keys.entries()) {
      await a.send(
        new PutObjectCommand({
          Bucket: "shared-bucket",
          Key,
          Body: `body of ${Key}`,
          ...(i % 2 ? { ServerSideEncryption: "aws:kms" } : {}),
        }),
      );
    }
    for (const Key of keys) {
      const got = await b.send(new GetObjectCommand({ Bucket: "shared-bucket", Key }));
      assert.equal((await bytesOf(got.Body)).toString(), `body of ${Key}`, `${Key} through the other node`);
    }
    const listed = await b.send(new ListObjectsV2Command({ Bucket: "shared-bucket" }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
      "UTF-8 byte order, whatever the database's locale",
    );
    const lower = await b.send(new ListObjectsV2Command({ Bucket: "shared-bucket", Prefix: "a" }));
    assert.deepEqual(
      lower.Contents?.map((c) => c.Key),
      ["a/1"],
    );
    await b.send(new DeleteObjectCommand({ Bucket: "shared-bucket", Key: "z" }));
    await rejects(() => a.send(new GetObjectCommand({ Bucket: "shared-bucket", Key: "z" })), "NoSuchKey");
  });
});
