/**
 * IAM ListGroups through @aws-sdk/client-iam: every group of the account (members or not), by
 * name, filtered by path prefix, paged with Marker/MaxItems; the model's bounds refused before any
 * work; authorized as iam:ListGroups; each call in the trail.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AddUserToGroupCommand, CreateGroupCommand, DeleteGroupCommand, ListGroupsCommand, paginateListGroups } from "@aws-sdk/client-iam";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS } from "./iam.js";

describe("IAM ListGroups", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const iam = iamClient(server.url);
    // Created out of order; "admins" has a member, the others none.
    for (const [GroupName, Path] of [
      ["ops", "/division/ops/"],
      ["admins", "/"],
      ["auditors", "/division/"],
      ["Zeta", "/"],
      ["beta", "/division/ops/"],
    ] as const)
      await iam.send(new CreateGroupCommand({ GroupName, Path }));
    await makeUser(iam, "carol");
    await iam.send(new AddUserToGroupCommand({ GroupName: "admins", UserName: "carol" }));
    iam.destroy();
  });
  after(() => server.stop());

  it("lists every group, members or not, sorted by name, with its path, id, ARN and creation date", async () => {
    const iam = iamClient(server.url);
    const { Groups, IsTruncated, Marker } = await iam.send(new ListGroupsCommand({}));
    assert.deepEqual(
      Groups!.map((g) => g.GroupName),
      ["Zeta", "admins", "auditors", "beta", "ops"],
    );
    assert.equal(IsTruncated, false);
    assert.equal(Marker, undefined);
    const ops = Groups!.find((g) => g.GroupName === "ops")!;
    assert.equal(ops.Path, "/division/ops/");
    assert.equal(ops.Arn, `arn:aws:iam::${ACCOUNT_ID}:group/division/ops/ops`);
    assert.match(ops.GroupId!, /^AGPA[A-Z0-9]{16,}$/);
    assert.ok(ops.CreateDate instanceof Date && Math.abs(ops.CreateDate.getTime() - Date.now()) < 600_000);
    iam.destroy();
  });

  it("filters by path prefix: / is every group, a deeper prefix only those under it, an unknown one none", async () => {
    const iam = iamClient(server.url);
    const names = async (PathPrefix?: string) => (await iam.send(new ListGroupsCommand({ PathPrefix }))).Groups!.map((g) => g.GroupName);
    assert.equal((await names("/")).length, 5);
    assert.deepEqual(await names("/division/"), ["auditors", "beta", "ops"]);
    assert.deepEqual(await names("/division/ops/"), ["beta", "ops"]);
    assert.deepEqual(await names("/nobody/"), []);
    iam.destroy();
  });

  it("pages with MaxItems and Marker, as the SDK's paginator follows them", async () => {
    const iam = iamClient(server.url);
    const first = await iam.send(new ListGroupsCommand({ MaxItems: 2 }));
    assert.deepEqual(
      first.Groups!.map((g) => g.GroupName),
      ["Zeta", "admins"],
    );
    assert.equal(first.IsTruncated, true);
    assert.ok(first.Marker);
    const second = await iam.send(new ListGroupsCommand({ MaxItems: 2, Marker: first.Marker }));
    assert.deepEqual(
      second.Groups!.map((g) => g.GroupName),
      ["auditors", "beta"],
    );
    const pages: string[][] = [];
    for await (const page of paginateListGroups({ client: iam, pageSize: 2 }, { PathPrefix: "/" }))
      pages.push(page.Groups!.map((g) => g.GroupName!));
    assert.deepEqual(pages, [["Zeta", "admins"], ["auditors", "beta"], ["ops"]]);
    // A deleted group is gone from the list.
    await iam.send(new CreateGroupCommand({ GroupName: "temporary" }));
    await iam.send(new DeleteGroupCommand({ GroupName: "temporary" }));
    assert.ok(!(await iam.send(new ListGroupsCommand({}))).Groups!.some((g) => g.GroupName === "temporary"));
    iam.destroy();
  });

  it("refuses what the model bounds: MaxItems outside 1–1000, a PathPrefix not starting with /, an empty or overlong Marker", async () => {
    const iam = iamClient(server.url);
    for (const input of [
      { MaxItems: 0 },
      { MaxItems: 1001 },
      { PathPrefix: "division/" },
      { PathPrefix: `/${"a".repeat(512)}` },
      { Marker: "x".repeat(321) },
    ]) {
      const e = await rejects(() => iam.send(new ListGroupsCommand(input)), "ValidationError");
      assert.equal(e.$metadata?.httpStatusCode, 400, JSON.stringify(input).slice(0, 60));
    }
    iam.destroy();
  });

  it("is authorized as iam:ListGroups: a user without it is refused, one with it lists; every call is in the trail", async () => {
    const root = iamClient(server.url);
    const dave = await makeUser(root, "dave");
    const erin = await makeUser(root, "erin", { list: policy({ Effect: "Allow", Action: "iam:ListGroups", Resource: "*" }) });
    root.destroy();
    const asDave = iamClient(server.url, dave);
    const refused = await rejects(() => asDave.send(new ListGroupsCommand({})), "AccessDenied");
    assert.match(refused.message, /iam:ListGroups/);
    asDave.destroy();
    const asErin = iamClient(server.url, erin);
    assert.equal((await asErin.send(new ListGroupsCommand({}))).Groups!.length, 5);
    asErin.destroy();

    const trail = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ListGroups" }] }))
    ).Events!;
    const records = events.map((e) => JSON.parse(e.CloudTrailEvent!) as { eventSource: string; errorCode?: string; readOnly: boolean });
    assert.ok(records.length >= 2);
    for (const r of records) {
      assert.equal(r.eventSource, "iam.amazonaws.com");
      assert.equal(r.readOnly, true);
    }
    // dave's refusal and the five malformed requests are there too, with their errors.
    const errors = records.map((r) => r.errorCode).filter((c) => c !== undefined && c !== null);
    assert.equal(errors.filter((c) => /^AccessDenied/.test(c!)).length, 1, JSON.stringify(errors));
    assert.equal(errors.filter((c) => /^Validation/.test(c!)).length, 5, JSON.stringify(errors));
    trail.destroy();
  });
});
