/**
 * Secrets Manager replicas through @aws-sdk/client-secrets-manager, one client per region against
 * keyhold's one endpoint: ReplicateSecretToRegions (a key of each region's own), replicas kept in
 * step with the primary's versions and labels, read-only replicas, ReplicationStatus and
 * PrimaryRegion, name collisions (Failed, then ForceOverwriteReplicaSecret), a replica's unusable
 * key (Failed), RemoveRegionsFromReplication, StopReplicationToReplica, and each refusal.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RemoveRegionsFromReplicationCommand,
  ReplicateSecretToRegionsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  StopReplicationToReplicaCommand,
  TagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand } from "@aws-sdk/client-kms";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";

describe("Secrets Manager replicas", () => {
  let server: TestServer;
  const clients = new Map<string, SecretsManagerClient>();
  const sm = (region = "us-east-1") => {
    let c = clients.get(region);
    if (!c) {
      c = new SecretsManagerClient({ endpoint: server.url, region, credentials: ROOT_CREDS, maxAttempts: 1 });
      clients.set(region, c);
    }
    return c;
  };
  const value = async (region: string, id: string, stage = "AWSCURRENT") =>
    (await sm(region).send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }))).SecretString;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const c of clients.values()) c.destroy();
    await server.stop();
  });

  let primaryArn = "";
  let westKey = "";

  it("ReplicateSecretToRegions makes replicas encrypted under each region's key, readable by name and by replica ARN", async () => {
    const created = await sm().send(new CreateSecretCommand({ Name: "app/replicated", SecretString: "v1", Description: "d" }));
    primaryArn = created.ARN!;
    westKey = (await server.client("us-west-2").send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const out = await sm().send(
      new ReplicateSecretToRegionsCommand({
        SecretId: "app/replicated",
        AddReplicaRegions: [{ Region: "eu-west-1" }, { Region: "us-west-2", KmsKeyId: westKey }],
      }),
    );
    assert.equal(out.ARN, primaryArn);
    assert.deepEqual(
      out.ReplicationStatus!.map((r) => [r.Region, r.KmsKeyId, r.Status]),
      [
        ["eu-west-1", "alias/aws/secretsmanager", "InSync"],
        ["us-west-2", westKey, "InSync"],
      ],
    );
    const replicaArn = primaryArn.replace(":us-east-1:", ":eu-west-1:");
    assert.equal(await value("eu-west-1", "app/replicated"), "v1");
    assert.equal(await value("eu-west-1", replicaArn), "v1");
    assert.equal(await value("us-west-2", "app/replicated"), "v1");
    const replica = await sm("eu-west-1").send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    assert.equal(replica.ARN, replicaArn);
    assert.equal(replica.PrimaryRegion, "us-east-1");
    assert.equal(replica.Description, "d");
    assert.equal(replica.ReplicationStatus, undefined);
    const primary = await sm().send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    assert.equal(primary.PrimaryRegion, "us-east-1");
    assert.deepEqual(
      primary.ReplicationStatus!.map((r) => r.Region),
      ["eu-west-1", "us-west-2"],
    );
    assert.deepEqual(replica.VersionIdsToStages, primary.VersionIdsToStages);
    // Each copy is sealed under a key of its own region: that region's aws/secretsmanager, or the key named.
    const euManaged = await server.client("eu-west-1").send(new DescribeKeyCommand({ KeyId: "alias/aws/secretsmanager" }));
    const euCopy = (await server.keyhold.secretsManager.load(ACCOUNT_ID, "eu-west-1", "app/replicated"))!;
    assert.equal(euCopy.body.versions[0]!.kmsKeyArn, euManaged.KeyMetadata!.Arn);
    const westCopy = (await server.keyhold.secretsManager.load(ACCOUNT_ID, "us-west-2", "app/replicated"))!;
    assert.equal(westCopy.body.versions[0]!.kmsKeyArn, westKey);
    const east = (await server.keyhold.secretsManager.load(ACCOUNT_ID, "us-east-1", "app/replicated"))!;
    assert.notEqual(east.body.versions[0]!.wrappedKey, euCopy.body.versions[0]!.wrappedKey);
  });

  it("replicas follow every new version and label move of the primary; LastAccessedDate is the replica's", async () => {
    const put = await sm().send(new PutSecretValueCommand({ SecretId: "app/replicated", SecretString: "v2" }));
    assert.equal(await value("eu-west-1", "app/replicated"), "v2");
    assert.equal(await value("eu-west-1", "app/replicated", "AWSPREVIOUS"), "v1");
    const previous = Object.entries((await sm().send(new DescribeSecretCommand({ SecretId: "app/replicated" }))).VersionIdsToStages!).find(
      ([, s]) => s.includes("AWSPREVIOUS"),
    )![0];
    await sm().send(new UpdateSecretVersionStageCommand({ SecretId: "app/replicated", VersionStage: "blue", MoveToVersionId: previous }));
    await sm().send(new UpdateSecretCommand({ SecretId: "app/replicated", Description: "changed" }));
    const replica = await sm("us-west-2").send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    assert.deepEqual(replica.VersionIdsToStages![previous]!.sort(), ["AWSPREVIOUS", "blue"]);
    assert.deepEqual(replica.VersionIdsToStages![put.VersionId!], ["AWSCURRENT"]);
    assert.equal(replica.Description, "changed");
    assert.equal(await value("us-west-2", "app/replicated", "blue"), "v1");
    const primary = await sm().send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    const west = primary.ReplicationStatus!.find((r) => r.Region === "us-west-2")!;
    assert.equal(west.Status, "InSync");
    assert.ok(west.LastAccessedDate instanceof Date);
    // ListSecrets in the replica's region shows it, with its primary region (and the primary-region filter finds it).
    const listed = await sm("eu-west-1").send(new ListSecretsCommand({ Filters: [{ Key: "primary-region", Values: ["us-east-1"] }] }));
    assert.deepEqual(
      listed.SecretList!.map((s) => [s.Name, s.PrimaryRegion]),
      [["app/replicated", "us-east-1"]],
    );
  });

  it("a replica is read-only, and a replicated primary cannot be deleted", async () => {
    const eu = sm("eu-west-1");
    for (const command of [
      new PutSecretValueCommand({ SecretId: "app/replicated", SecretString: "x" }),
      new UpdateSecretCommand({ SecretId: "app/replicated", Description: "x" }),
      new DeleteSecretCommand({ SecretId: "app/replicated", ForceDeleteWithoutRecovery: true }),
      new TagResourceCommand({ SecretId: "app/replicated", Tags: [{ Key: "k", Value: "v" }] }),
      new RotateSecretCommand({ SecretId: "app/replicated" }),
      new ReplicateSecretToRegionsCommand({ SecretId: "app/replicated", AddReplicaRegions: [{ Region: "ap-south-1" }] }),
    ]) {
      const e = await rejects(() => eu.send(command as never), "InvalidRequestException");
      assert.match(e.message, /replica secret/);
    }
    assert.equal(await value("eu-west-1", "app/replicated"), "v2");
    const e = await rejects(() => sm().send(new DeleteSecretCommand({ SecretId: "app/replicated" })), "InvalidRequestException");
    assert.match(e.message, /replicas/);
  });

  it("refuses regions AWS refuses: its own, one already replicated, one not served, a malformed name", async () => {
    const replicate = (Region: string) =>
      sm().send(new ReplicateSecretToRegionsCommand({ SecretId: "app/replicated", AddReplicaRegions: [{ Region }] }));
    await rejects(() => replicate("us-east-1"), "InvalidParameterException");
    await rejects(() => replicate("eu-west-1"), "InvalidParameterException");
    await rejects(() => replicate("mars-north-1"), "InvalidParameterException");
    await rejects(() => replicate("EU_WEST"), "ValidationException");
    await rejects(
      () => sm().send(new RemoveRegionsFromReplicationCommand({ SecretId: "app/replicated", RemoveReplicaRegions: ["ap-south-1"] })),
      "InvalidParameterException",
    );
    await rejects(() => sm().send(new StopReplicationToReplicaCommand({ SecretId: "app/replicated" })), "InvalidRequestException");
  });

  it("a name taken in the region is Failed with AWS's message; ForceOverwriteReplicaSecret replaces it", async () => {
    await sm("ap-south-1").send(new CreateSecretCommand({ Name: "app/collides", SecretString: "theirs" }));
    await sm().send(new CreateSecretCommand({ Name: "app/collides", SecretString: "ours" }));
    const failed = await sm().send(
      new ReplicateSecretToRegionsCommand({ SecretId: "app/collides", AddReplicaRegions: [{ Region: "ap-south-1" }] }),
    );
    assert.equal(failed.ReplicationStatus![0]!.Status, "Failed");
    assert.equal(failed.ReplicationStatus![0]!.StatusMessage, "Secret with this name already exists in this region");
    assert.equal(await value("ap-south-1", "app/collides"), "theirs");
    // Removing the failed replica leaves the region's own secret alone.
    await sm().send(new RemoveRegionsFromReplicationCommand({ SecretId: "app/collides", RemoveReplicaRegions: ["ap-south-1"] }));
    assert.equal(await value("ap-south-1", "app/collides"), "theirs");
    const forced = await sm().send(
      new ReplicateSecretToRegionsCommand({
        SecretId: "app/collides",
        AddReplicaRegions: [{ Region: "ap-south-1" }],
        ForceOverwriteReplicaSecret: true,
      }),
    );
    assert.equal(forced.ReplicationStatus![0]!.Status, "InSync");
    assert.equal(await value("ap-south-1", "app/collides"), "ours");
    assert.equal((await sm("ap-south-1").send(new DescribeSecretCommand({ SecretId: "app/collides" }))).PrimaryRegion, "us-east-1");
  });

  it("a replica whose key cannot be used is Failed, with the reason; nothing is written in its region", async () => {
    const key = (await server.client("eu-central-1").send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await server.client("eu-central-1").send(new DisableKeyCommand({ KeyId: key }));
    await sm().send(new CreateSecretCommand({ Name: "app/badkey", SecretString: "b" }));
    const out = await sm().send(
      new ReplicateSecretToRegionsCommand({ SecretId: "app/badkey", AddReplicaRegions: [{ Region: "eu-central-1", KmsKeyId: key }] }),
    );
    assert.equal(out.ReplicationStatus![0]!.Status, "Failed");
    assert.match(out.ReplicationStatus![0]!.StatusMessage!, /can't encrypt/);
    await rejects(() => sm("eu-central-1").send(new GetSecretValueCommand({ SecretId: "app/badkey" })), "ResourceNotFoundException");
  });

  it("CreateSecret with AddReplicaRegions; RemoveRegionsFromReplication deletes the replica", async () => {
    const created = await sm().send(
      new CreateSecretCommand({ Name: "app/born-replicated", SecretString: "r", AddReplicaRegions: [{ Region: "eu-north-1" }] }),
    );
    assert.deepEqual(
      created.ReplicationStatus!.map((r) => [r.Region, r.Status]),
      [["eu-north-1", "InSync"]],
    );
    assert.equal(await value("eu-north-1", "app/born-replicated"), "r");
    const removed = await sm().send(
      new RemoveRegionsFromReplicationCommand({ SecretId: "app/born-replicated", RemoveReplicaRegions: ["eu-north-1"] }),
    );
    assert.deepEqual(removed.ReplicationStatus, []);
    await rejects(() => sm("eu-north-1").send(new GetSecretValueCommand({ SecretId: "app/born-replicated" })), "ResourceNotFoundException");
    const primary = await sm().send(new DescribeSecretCommand({ SecretId: "app/born-replicated" }));
    assert.equal(primary.ReplicationStatus, undefined);
    assert.equal(primary.PrimaryRegion, undefined);
  });

  it("StopReplicationToReplica promotes a replica to a standalone secret the primary no longer writes", async () => {
    const west = sm("us-west-2");
    const out = await west.send(new StopReplicationToReplicaCommand({ SecretId: "app/replicated" }));
    assert.equal(out.ARN, primaryArn.replace(":us-east-1:", ":us-west-2:"));
    const promoted = await west.send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    assert.equal(promoted.PrimaryRegion, undefined);
    await west.send(new PutSecretValueCommand({ SecretId: "app/replicated", SecretString: "west-own" }));
    await sm().send(new PutSecretValueCommand({ SecretId: "app/replicated", SecretString: "v3" }));
    assert.equal(await value("us-west-2", "app/replicated"), "west-own");
    assert.equal(await value("eu-west-1", "app/replicated"), "v3");
    const primary = await sm().send(new DescribeSecretCommand({ SecretId: "app/replicated" }));
    assert.deepEqual(
      primary.ReplicationStatus!.map((r) => r.Region),
      ["eu-west-1"],
    );
  });
});
