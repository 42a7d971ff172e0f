import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { rejects, startTestServer, type TestServer } from "./helpers.js";

describe("rotation and deletion over time (injected clock)", () => {
  let server: TestServer;
  let clock: ManualClock;
  let start: number;
  /** A client whose signing clock follows the server's injected clock. */
  const kms = (): KMSClient => server.client("us-east-1", { systemClockOffset: clock.now() - Date.now() });
  before(async () => {
    start = Date.now();
    clock = new ManualClock(start);
    server = await startTestServer({ clock });
  });
  after(() => server.stop());

  it("rotation as a script: encrypt at v1…v4 with on-demand rotations between, every ciphertext still decrypts", async () => {
    const client = kms();
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blobs: { blob: Uint8Array; text: string; material: string }[] = [];
    for (let v = 1; v <= 4; v++) {
      const enc = await client.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`version ${v}`), EncryptionContext: { v: String(v) } }),
      );
      const material = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId!;
      blobs.push({ blob: enc.CiphertextBlob!, text: `version ${v}`, material });
      if (v < 4) assert.equal((await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).KeyId, keyId);
    }
    assert.equal(new Set(blobs.map((b) => b.material)).size, 4, "each rotation makes new key material");
    for (const [i, b] of blobs.entries()) {
      const dec = await client.send(new DecryptCommand({ CiphertextBlob: b.blob, EncryptionContext: { v: String(i + 1) } }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), b.text);
      assert.equal(dec.KeyMaterialId, b.material, "decrypt reports the material the ciphertext was made with");
    }
    const rotations = await client.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.equal(rotations.Rotations!.length, 3);
    assert.deepEqual(
      rotations.Rotations!.map((r) => r.RotationType),
      ["ON_DEMAND", "ON_DEMAND", "ON_DEMAND"],
    );
    assert.deepEqual(
      rotations.Rotations!.map((r) => r.KeyMaterialState),
      ["NON_CURRENT", "NON_CURRENT", "CURRENT"],
    );
    assert.deepEqual(
      rotations.Rotations!.map((r) => r.KeyMaterialId),
      blobs.slice(1).map((b) => b.material),
    );
    const all = await client.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL", Limit: 2 }));
    assert.equal(all.Rotations!.length, 2);
    assert.equal(all.Rotations![0]!.KeyMaterialId, blobs[0]!.material);
    assert.equal(all.Rotations![0]!.RotationDate, undefined);
    assert.equal(all.Truncated, true);
    const rest = await client.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL", Marker: all.NextMarker }),
    );
    assert.equal(rest.Rotations!.length, 2);
    assert.equal(rest.Truncated, false);
  });

  it("RotateKeyOnDemand stops at 10 per key and refuses disabled keys", async () => {
    const client = kms();
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 10; i++) await client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await rejects(() => client.send(new RotateKeyOnDemandCommand({ KeyId: keyId })), "LimitExceededException");
    const other = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await client.send(new DisableKeyCommand({ KeyId: other }));
    await rejects(() => client.send(new RotateKeyOnDemandCommand({ KeyId: other })), "DisabledException");
    await rejects(() => client.send(new EnableKeyRotationCommand({ KeyId: other })), "DisabledException");
  });

  it("EnableKeyRotation takes 90–2560 days (default 365) and GetKeyRotationStatus reports it", async () => {
    const client = kms();
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    assert.equal((await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled, false);
    await rejects(() => client.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 89 })), "ValidationException");
    await rejects(() => client.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 2561 })), "ValidationException");
    await client.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(status.KeyRotationEnabled, true);
    assert.equal(status.RotationPeriodInDays, 365);
    assert.equal(status.NextRotationDate!.getTime(), clock.now() + 365 * DAY_MS);
    await client.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    const off = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(off.KeyRotationEnabled, false);
    assert.equal(off.NextRotationDate, undefined);
  });

  it("automatic rotation happens when due; pending deletion suspends it and cancelling restores it", async () => {
    let client = kms();
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await client.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const old = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("before rotation") }));

    clock.advance(89 * DAY_MS);
    assert.deepEqual((await server.keyhold.scheduler.tick()).rotated, []);
    clock.advance(2 * DAY_MS);
    assert.ok((await server.keyhold.scheduler.tick()).rotated.includes(keyId));
    client = kms();
    const rotations = await client.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.deepEqual(
      rotations.Rotations!.map((r) => r.RotationType),
      ["AUTOMATIC"],
    );
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(status.NextRotationDate!.getTime(), clock.now() + 90 * DAY_MS);
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), "before rotation");

    await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 }));
    assert.equal((await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled, false);
    await client.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    assert.equal((await client.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled, true);

    // A disabled key is not rotated when due; it is once enabled again.
    clock.advance(91 * DAY_MS);
    assert.ok(!(await server.keyhold.scheduler.tick()).rotated.includes(keyId));
    client = kms();
    await client.send(new EnableKeyCommand({ KeyId: keyId }));
    assert.ok((await server.keyhold.scheduler.tick()).rotated.includes(keyId));
  });

  it("a key whose deletion window ends is destroyed with its aliases; a cancelled one is kept", async () => {
    let client = kms();
    const doomed = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const kept = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await client.send(new CreateAliasCommand({ AliasName: "alias/doomed", TargetKeyId: doomed }));
    const blob = (await client.send(new EncryptCommand({ KeyId: doomed, Plaintext: Buffer.from("gone soon") }))).CiphertextBlob!;
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: kept, PendingWindowInDays: 7 }));
    await client.send(new CancelKeyDeletionCommand({ KeyId: kept }));

    clock.advance(7 * DAY_MS - 60_000);
    assert.ok(!(await server.keyhold.scheduler.tick()).deleted.includes(doomed));
    clock.advance(120_000);
    const report = await server.keyhold.scheduler.tick();
    assert.ok(report.deleted.includes(doomed));
    assert.ok(!report.deleted.includes(kept));

    client = kms();
    await rejects(() => client.send(new DescribeKeyCommand({ KeyId: doomed })), "NotFoundException");
    await rejects(() => client.send(new DescribeKeyCommand({ KeyId: "alias/doomed" })), "NotFoundException");
    assert.ok(!(await client.send(new ListAliasesCommand({}))).Aliases!.some((a) => a.AliasName === "alias/doomed"));
    await rejects(() => client.send(new DecryptCommand({ CiphertextBlob: blob })), "InvalidCiphertextException");
    assert.equal(await server.keyhold.repo.getKeyVersion(doomed, 1), undefined, "the key material is gone from storage");
    assert.equal((await client.send(new DescribeKeyCommand({ KeyId: kept }))).KeyMetadata!.KeyState, "Disabled");
  });
});
