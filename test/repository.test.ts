/**
 * One repository contract, run against SQLite and against a throw-away PostgreSQL: the same
 * records back, conditional writes that refuse stale state, all-or-nothing tag writes, and
 * change tokens that move when another connection writes.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { PostgresRepository } from "../src/store/postgres.js";
import type { Repository } from "../src/store/repository.js";
import type { KeyRecord, KeyVersionRecord } from "../src/store/records.js";
import { SqliteRepository } from "../src/store/sqlite.js";
import { tempDir } from "./helpers.js";
import { postgresMissing, startPostgres, type TestPostgres } from "./postgres.js";

function key(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: randomUUID(),
    accountId: "111122223333",
    region: "us-east-1",
    description: "contract",
    keyState: "Enabled",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    origin: "AWS_KMS",
    keyManager: "CUSTOMER",
    policy: "{}",
    creationDate: 1_700_000_000_000,
    rotationEnabled: false,
    onDemandRotations: 0,
    currentVersion: 1,
    ...overrides,
  };
}

function version(keyId: string, v: number): KeyVersionRecord {
  return { keyId, version: v, materialId: "ab".repeat(32), wrappedMaterial: Buffer.from([v, 1, 2, 3]), createdAt: 1_700_000_000_000 + v };
}

const until = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
};

function contract(
  name: string,
  open: () => Promise<{ a: Repository; b: Repository; close(): Promise<void> }>,
  skip: () => string | undefined,
) {
  describe(`repository contract: ${name}`, () => {
    let a: Repository;
    let b: Repository;
    let close: () => Promise<void>;
    before(async () => {
      if (skip()) return;
      ({ a, b, close } = await open());
    });
    after(async () => {
      if (!skip()) await close();
    });
    const test = (title: string, fn: () => Promise<void>) =>
      it(title, async (t: TestContext) => {
        const why = skip();
        if (why) {
          if (process.env.KEYHOLD_TEST_REQUIRE_ALL === "1") throw new Error(`${why}; KEYHOLD_TEST_REQUIRE_ALL=1 makes this a failure`);
          t.skip(`SKIPPED: ${why}`);
          return;
        }
        await fn();
      });

    test("a key in a custom key store keeps the store's id", async () => {
      const k = key({ origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-0123456789abcdef0" });
      await a.createKey(k, version(k.keyId, 1), []);
      assert.equal((await b.getKey(k.keyId))?.customKeyStoreId, "cks-0123456789abcdef0");
      assert.equal((await b.getKey(k.keyId))?.origin, "AWS_CLOUDHSM");
    });

    test("stores and returns keys, versions, aliases and tags as written", async () => {
      const k = key({ rotationEnabled: true, rotationPeriodInDays: 90, nextRotationDate: 1_800_000_000_000 });
      await a.createKey(k, version(k.keyId, 1), [{ TagKey: "t", TagValue: "v" }]);
      assert.deepEqual(await b.getKey(k.keyId), {
        ...k,
        deletionDate: undefined,
        pendingWindowInDays: undefined,
        expirationModel: undefined,
        validTo: undefined,
        materialFingerprint: undefined,
        customKeyStoreId: undefined,
      });
      assert.deepEqual(await b.getKeyVersion(k.keyId, 1), { ...version(k.keyId, 1), rotationType: undefined });
      assert.equal(
        await a.createAlias({
          accountId: k.accountId,
          region: k.region,
          aliasName: `alias/${k.keyId}`,
          targetKeyId: k.keyId,
          creationDate: 1,
          lastUpdatedDate: 1,
        }),
        true,
      );
      assert.equal(
        await b.createAlias({
          accountId: k.accountId,
          region: k.region,
          aliasName: `alias/${k.keyId}`,
          targetKeyId: k.keyId,
          creationDate: 2,
          lastUpdatedDate: 2,
        }),
        false,
      );
      assert.equal((await b.getAlias(k.accountId, k.region, `alias/${k.keyId}`))!.targetKeyId, k.keyId);
      assert.deepEqual((await b.listTags(k.keyId, undefined, 10)).items, [{ TagKey: "t", TagValue: "v" }]);
      assert.equal(await a.writeSeal(Buffer.from("seal-1")), true);
      assert.equal(await b.writeSeal(Buffer.from("seal-2")), false, "the seal is written once");
      assert.deepEqual(await b.readSeal(), Buffer.from("seal-1"));
      // A rekey replaces the seal only from the one it read: a second rekey from the old seal loses.
      assert.equal(await b.replaceSeal(Buffer.from("seal-2"), Buffer.from("seal-3")), false);
      assert.equal(await a.replaceSeal(Buffer.from("seal-1"), Buffer.from("seal-3")), true);
      assert.equal(await b.replaceSeal(Buffer.from("seal-1"), Buffer.from("seal-4")), false);
      assert.deepEqual(await a.readSeal(), Buffer.from("seal-3"));
      assert.deepEqual(await b.readSeal(), Buffer.from("seal-3"));
    });

    test("documents: create once, replace only from the revision read, list by prefix and by ref, delete; grants go with their key", async () => {
      const account = `1${randomUUID().replace(/\D/g, "").slice(0, 11).padEnd(11, "0")}`;
      const doc = (name: string, revision: number, body: string, ref?: string) =>
        ({ kind: "iam-user", accountId: account, name, ref, body, revision, createdAt: 5 }) as const;
      assert.equal(await a.putDocument(doc("alice", 1, '{"v":1}'), "new"), true);
      assert.equal(await b.putDocument(doc("alice", 1, '{"v":"other"}'), "new"), false, "a name is taken once");
      assert.equal(await b.putDocument(doc("alice", 2, '{"v":2}'), 1), true);
      assert.equal(await a.putDocument(doc("alice", 2, '{"v":"stale"}'), 1), false, "a writer that read revision 1 loses");
      assert.deepEqual(await a.getDocument("iam-user", account, "alice"), { ...doc("alice", 2, '{"v":2}'), ref: undefined });
      for (const name of ["bob", "b_c", "b%d", "carol"])
        await a.putDocument(doc(name, 1, "{}", name === "carol" ? "ref-1" : undefined), "new");
      const names = async (prefix: string, after?: string, limit = 10) =>
        (await b.listDocuments("iam-user", account, prefix, after, limit)).items.map((d) => d.name);
      assert.deepEqual(await names(""), ["alice", "b%d", "b_c", "bob", "carol"]);
      assert.deepEqual(await names("b_"), ["b_c"], "LIKE wildcards in a prefix are literal");
      assert.deepEqual(await names("b%"), ["b%d"]);
      const first = await b.listDocuments("iam-user", account, "", undefined, 2);
      assert.equal(first.items.length, 2);
      assert.deepEqual(await names("", first.next), ["b_c", "bob", "carol"]);
      assert.deepEqual(
        (await b.listDocumentsByRef("iam-user", "ref-1", undefined, 10)).items.map((d) => d.name),
        ["carol"],
      );
      assert.equal(await a.deleteDocument("iam-user", account, "carol"), true);
      assert.equal(await b.deleteDocument("iam-user", account, "carol"), false);
      // A conditional delete removes only the revision it names (S3's If-Match deletes).
      assert.equal(await b.deleteDocument("iam-user", account, "alice", 1), false, "revision 2 is not revision 1");
      assert.equal((await a.getDocument("iam-user", account, "alice"))?.revision, 2);
      assert.equal(await b.deleteDocument("iam-user", account, "alice", 2), true);
      assert.equal(await a.getDocument("iam-user", account, "alice"), undefined);

      // S3 keys: prefixes are case-sensitive, glob and LIKE characters are literal, order is UTF-8 byte order.
      const bucket = `bucket-${account}`;
      for (const name of ["a/1", "A/2", "a*", "a?", "a[x]", "Z", "é", "z", "a/[", "ab"]) {
        await a.putDocument({ kind: "s3-object", accountId: bucket, name, body: "{}", revision: 1, createdAt: 1 }, "new");
      }
      const keys = async (prefix: string) => (await b.listDocuments("s3-object", bucket, prefix, undefined, 100)).items.map((d) => d.name);
      assert.deepEqual(await keys(""), ["A/2", "Z", "a*", "a/1", "a/[", "a?", "a[x]", "ab", "z", "é"]);
      assert.deepEqual(await keys("a/"), ["a/1", "a/["], "a/ does not match A/");
      assert.deepEqual(await keys("a*"), ["a*"]);
      assert.deepEqual(await keys("a["), ["a[x]"]);
      assert.deepEqual(await keys("a?"), ["a?"]);
      assert.deepEqual(await keys("A"), ["A/2"]);

      const k = key({ accountId: account });
      await a.createKey(k, version(k.keyId, 1), []);
      await a.putDocument({ kind: "kms-grant", accountId: account, name: `${k.keyId}/g1`, body: "{}", revision: 1, createdAt: 1 }, "new");
      await a.deleteKey(k.keyId);
      assert.equal(await b.getDocument("kms-grant", account, `${k.keyId}/g1`), undefined, "a key's grants are destroyed with it");
    });

    test("putDocuments: several writes in one commit, each with putDocument's result; a failing one makes none", async () => {
      const account = `2${randomUUID().replace(/\D/g, "").slice(0, 11).padEnd(11, "0")}`;
      const doc = (name: string, revision: number, body: string) =>
        ({ kind: "acmpca-certificate", accountId: account, name, ref: undefined, body, revision, createdAt: 7 }) as const;
      assert.equal(await a.putDocument(doc("taken", 1, '{"v":1}'), "new"), true);
      assert.deepEqual(
        await a.putDocuments([
          { doc: doc("one", 1, '{"n":1}'), expectedRevision: "new" },
          { doc: doc("taken", 1, '{"v":"other"}'), expectedRevision: "new" },
          { doc: doc("two", 1, '{"n":2}'), expectedRevision: "new" },
          { doc: doc("taken", 2, '{"v":2}'), expectedRevision: 1 },
          { doc: doc("taken", 3, '{"v":"stale"}'), expectedRevision: 1 },
        ]),
        [true, false, true, true, false],
      );
      assert.deepEqual(
        (await b.listDocuments("acmpca-certificate", account, "", undefined, 10)).items.map((d) => [d.name, d.body]),
        [
          ["one", '{"n":1}'],
          ["taken", '{"v":2}'],
          ["two", '{"n":2}'],
        ],
        "the other connection sees every write made, and only those",
      );
      // A write the database refuses (body NOT NULL) fails the whole group: the writes before it are not made.
      await assert.rejects(
        a.putDocuments([
          { doc: doc("three", 1, "{}"), expectedRevision: "new" },
          { doc: { ...doc("four", 1, "{}"), body: null as unknown as string }, expectedRevision: "new" },
        ]),
      );
      assert.equal(await b.getDocument("acmpca-certificate", account, "three"), undefined);
      assert.deepEqual(await a.putDocuments([]), []);
    });

    test("access keys of users and sessions: listed per user, status changes, deleted", async () => {
      const account = `2${randomUUID().replace(/\D/g, "").slice(0, 11).padEnd(11, "0")}`;
      await a.createAccount({ accountId: account, createdAt: 1 });
      assert.ok((await b.listAccounts()).some((x) => x.accountId === account));
      const base = { accountId: account, wrappedSecret: Buffer.from("w"), status: "Active" as const, createdAt: 1 };
      await a.putAccessKey({ ...base, accessKeyId: `AKIAROOT${account}` });
      await a.putAccessKey({ ...base, accessKeyId: `AKIAUSER${account}`, userName: "u" });
      const session = { roleName: "r", roleId: "AROAX", sessionName: "s", tokenHash: "00", issuedAt: 1, expiresAt: 2, policies: ["{}"] };
      await a.putAccessKey({ ...base, accessKeyId: `ASIASESS${account}`, session });
      assert.deepEqual(
        (await b.listAccessKeys(account, undefined)).map((k) => k.accessKeyId),
        [`AKIAROOT${account}`],
      );
      assert.deepEqual(
        (await b.listAccessKeys(account, "u")).map((k) => k.accessKeyId),
        [`AKIAUSER${account}`],
      );
      assert.deepEqual((await b.getAccessKey(`ASIASESS${account}`))!.session, session);
      await b.putAccessKey({ ...base, accessKeyId: `AKIAUSER${account}`, userName: "u", status: "Inactive" });
      assert.equal((await a.getAccessKey(`AKIAUSER${account}`))!.status, "Inactive");
      assert.equal(await a.deleteAccessKey(`AKIAUSER${account}`), true);
      assert.equal(await b.getAccessKey(`AKIAUSER${account}`), undefined);
    });

    test("conditional writes refuse stale state instead of overwriting it", async () => {
      const k = key();
      await a.createKey(k, version(k.keyId, 1), []);
      assert.equal(await a.updateKey(k.keyId, { keyState: "Disabled" }, "Enabled"), true);
      assert.equal(await b.updateKey(k.keyId, { keyState: "PendingDeletion" }, "Enabled"), false, "state moved under it");
      assert.equal((await b.getKey(k.keyId))!.keyState, "Disabled");
      assert.equal(await a.addKeyVersion(version(k.keyId, 2), 1, { onDemandRotations: 1 }), true);
      assert.equal(await b.addKeyVersion(version(k.keyId, 2), 1, { onDemandRotations: 1 }), false, "a rotation from a stale version loses");
      assert.equal((await a.getKey(k.keyId))!.currentVersion, 2);
      assert.equal((await a.listKeyVersions(k.keyId)).length, 2);
    });

    test("a tag write over the limit changes nothing; deleting a key removes everything of it", async () => {
      const k = key();
      await a.createKey(k, version(k.keyId, 1), [{ TagKey: "keep", TagValue: "1" }]);
      assert.equal(
        await a.putTags(
          k.keyId,
          [
            { TagKey: "keep", TagValue: "changed" },
            { TagKey: "x", TagValue: "y" },
          ],
          1,
        ),
        false,
      );
      assert.deepEqual((await b.listTags(k.keyId, undefined, 10)).items, [{ TagKey: "keep", TagValue: "1" }]);
      await a.createAlias({
        accountId: k.accountId,
        region: k.region,
        aliasName: `alias/d-${k.keyId}`,
        targetKeyId: k.keyId,
        creationDate: 1,
        lastUpdatedDate: 1,
      });
      await a.deleteKey(k.keyId);
      assert.equal(await b.getKey(k.keyId), undefined);
      assert.equal(await b.getKeyVersion(k.keyId, 1), undefined);
      assert.equal(await b.getAlias(k.accountId, k.region, `alias/d-${k.keyId}`), undefined);
      assert.deepEqual((await b.listTags(k.keyId, undefined, 10)).items, []);
    });

    test("lists page in key order; due work is found by date", async () => {
      const region = `ap-${randomUUID().slice(0, 6)}-1`;
      const keys = [key({ region }), key({ region }), key({ region, keyState: "PendingDeletion", deletionDate: 5 })];
      for (const k of keys) await a.createKey(k, version(k.keyId, 1), []);
      const first = await b.listKeys(k0(keys).accountId, region, undefined, 2);
      assert.equal(first.items.length, 2);
      const rest = await b.listKeys(k0(keys).accountId, region, first.next, 2);
      assert.deepEqual(
        [...first.items, ...rest.items].map((k) => k.keyId),
        keys.map((k) => k.keyId).sort(),
      );
      assert.ok((await b.keysDueForDeletion(10)).some((k) => k.keyId === keys[2]!.keyId));
      assert.ok(!(await b.keysDueForDeletion(4)).some((k) => k.keyId === keys[2]!.keyId));
    });

    test("imported material and import tokens", async () => {
      const k = key({ origin: "EXTERNAL", keyState: "PendingImport", currentVersion: 0 });
      await a.createKey(k, undefined, []);
      await a.putImportToken({
        token: `t-${k.keyId}`,
        keyId: k.keyId,
        wrappingAlgorithm: "RSAES_OAEP_SHA_256",
        wrappingKeySpec: "RSA_2048",
        wrappedPrivateKey: Buffer.from([9]),
        validTo: 7,
      });
      assert.equal((await b.getImportToken(`t-${k.keyId}`))!.validTo, 7);
      await a.importKeyMaterial(version(k.keyId, 1), {
        keyState: "Enabled",
        validTo: 100,
        expirationModel: "KEY_MATERIAL_EXPIRES",
        materialFingerprint: Buffer.from([1, 2]),
      });
      const imported = (await b.getKey(k.keyId))!;
      assert.equal(imported.currentVersion, 1);
      assert.deepEqual(imported.materialFingerprint, Buffer.from([1, 2]));
      assert.ok((await b.keysWithExpiredMaterial(100)).some((x) => x.keyId === k.keyId));
      await a.deleteKeyMaterial(k.keyId, { keyState: "PendingImport", validTo: undefined });
      assert.equal(await b.getKeyVersion(k.keyId, 1), undefined);
      assert.equal((await b.getKey(k.keyId))!.currentVersion, 0);
    });

    test("the change token moves when another connection writes", async () => {
      const before = b.changeToken();
      const k = key();
      await a.createKey(k, version(k.keyId, 1), []);
      assert.ok(await until(() => b.changeToken() !== before), "b sees that a wrote");
    });
  });
}

function k0(keys: KeyRecord[]): KeyRecord {
  return keys[0]!;
}

const sqliteDir = tempDir("keyhold-contract-");
contract(
  "SQLite",
  async () => {
    const a = new SqliteRepository(join(sqliteDir, "k.db"));
    const b = new SqliteRepository(join(sqliteDir, "k.db"));
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
        rmSync(sqliteDir, { recursive: true, force: true });
      },
    };
  },
  () => undefined,
);

let pg: TestPostgres | undefined;
const pgMissing = postgresMissing();
contract(
  "PostgreSQL",
  async () => {
    pg = await startPostgres();
    const a = await PostgresRepository.open(pg.url);
    const b = await PostgresRepository.open(pg.url);
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
        pg!.stop();
      },
    };
  },
  () => pgMissing,
);
