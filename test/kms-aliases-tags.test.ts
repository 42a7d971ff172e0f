import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy } from "./iam.js";

describe("aliases and tags", () => {
  let server: TestServer;
  let kms: KMSClient;
  let a: string;
  let b: string;
  before(async () => {
    server = await startTestServer();
    kms = server.client();
    a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  after(() => server.stop());

  it("CreateAlias, ListAliases, UpdateAlias and DeleteAlias do what they say", async () => {
    await kms.send(new CreateAliasCommand({ AliasName: "alias/app", TargetKeyId: a }));
    const listed = await kms.send(new ListAliasesCommand({}));
    const entry = listed.Aliases!.find((x) => x.AliasName === "alias/app")!;
    assert.equal(entry.AliasArn, `arn:aws:kms:us-east-1:${ACCOUNT_ID}:alias/app`);
    assert.equal(entry.TargetKeyId, a);
    assert.ok(entry.CreationDate instanceof Date && entry.LastUpdatedDate instanceof Date);

    await kms.send(new UpdateAliasCommand({ AliasName: "alias/app", TargetKeyId: b }));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: "alias/app" }))).KeyMetadata!.KeyId, b);
    const forB = await kms.send(new ListAliasesCommand({ KeyId: b }));
    assert.deepEqual(
      forB.Aliases!.map((x) => x.AliasName),
      ["alias/app"],
    );
    assert.deepEqual((await kms.send(new ListAliasesCommand({ KeyId: a }))).Aliases, []);

    await kms.send(new DeleteAliasCommand({ AliasName: "alias/app" }));
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "alias/app" })), "NotFoundException");
    await rejects(() => kms.send(new DeleteAliasCommand({ AliasName: "alias/app" })), "NotFoundException");
    await rejects(() => kms.send(new UpdateAliasCommand({ AliasName: "alias/app", TargetKeyId: a })), "NotFoundException");
  });

  it("an alias change needs the action allowed on the alias (identity policy) and on every key it affects (key policy)", async () => {
    const iam = iamClient(server.url);
    const aliasArn = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT_ID}:alias/${name}`;
    const keyArn = (id: string) => `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${id}`;
    const actions = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"];
    const userWith = async (name: string, resources: string[]) =>
      kmsAs(
        server.url,
        await makeUser(iam, name, resources.length ? { aliases: policy({ Effect: "Allow", Action: actions, Resource: resources }) } : {}),
      );
    const describe = async (alias: string) => (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata!.KeyId;
    await kms.send(new CreateAliasCommand({ AliasName: "alias/guarded", TargetKeyId: a }));

    // A user with no policy at all may not delete another's alias (nor learn whether one exists).
    const nobody = await userWith("alias-nobody", []);
    await rejects(() => nobody.send(new DeleteAliasCommand({ AliasName: "alias/guarded" })), "AccessDeniedException");
    await rejects(() => nobody.send(new DeleteAliasCommand({ AliasName: "alias/guarded-none" })), "AccessDeniedException");
    assert.equal(await describe("alias/guarded"), a);

    // Allowed on the aliases only: the key half refuses.
    const aliasOnly = await userWith("alias-only", [aliasArn("guarded*")]);
    const keyHalf = await rejects(() => aliasOnly.send(new DeleteAliasCommand({ AliasName: "alias/guarded" })), "AccessDeniedException");
    assert.match(keyHalf.message, new RegExp(`kms:DeleteAlias on resource: ${keyArn(a)}`));
    await rejects(() => aliasOnly.send(new CreateAliasCommand({ AliasName: "alias/guarded-2", TargetKeyId: a })), "AccessDeniedException");
    await rejects(() => aliasOnly.send(new DeleteAliasCommand({ AliasName: "alias/guarded-none" })), "NotFoundException");
    assert.equal(await describe("alias/guarded"), a);

    // Allowed on key a only: the alias half refuses.
    const keyOnly = await userWith("alias-key-only", [keyArn(a)]);
    const aliasHalf = await rejects(
      () => keyOnly.send(new CreateAliasCommand({ AliasName: "alias/guarded-2", TargetKeyId: a })),
      "AccessDeniedException",
    );
    assert.match(aliasHalf.message, new RegExp(`kms:CreateAlias on resource: ${aliasArn("guarded-2")}`));
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "alias/guarded-2" })), "NotFoundException");

    // Allowed on the aliases and on key a: may create and delete there, but not move an alias onto
    // key b, nor move b's alias away from b.
    const both = await userWith("alias-and-key", [aliasArn("guarded*"), keyArn(a)]);
    await both.send(new CreateAliasCommand({ AliasName: "alias/guarded-2", TargetKeyId: a }));
    await rejects(() => both.send(new UpdateAliasCommand({ AliasName: "alias/guarded-2", TargetKeyId: b })), "AccessDeniedException");
    assert.equal(await describe("alias/guarded-2"), a);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/guarded-b", TargetKeyId: b }));
    const current = await rejects(
      () => both.send(new UpdateAliasCommand({ AliasName: "alias/guarded-b", TargetKeyId: a })),
      "AccessDeniedException",
    );
    assert.match(current.message, new RegExp(`kms:UpdateAlias on resource: ${keyArn(b)}`));
    assert.equal(await describe("alias/guarded-b"), b);
    await both.send(new DeleteAliasCommand({ AliasName: "alias/guarded-2" }));
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "alias/guarded-2" })), "NotFoundException");
    for (const c of [nobody, aliasOnly, keyOnly, both]) c.destroy();
    iam.destroy();
  });

  it("CreateKey with Tags needs kms:TagResource as well, with aws:RequestTag conditions, as tags can grant access", async () => {
    const iam = iamClient(server.url);
    const creator = kmsAs(
      server.url,
      await makeUser(iam, "key-creator", { p: policy({ Effect: "Allow", Action: "kms:CreateKey", Resource: "*" }) }),
    );
    await creator.send(new CreateKeyCommand({ Description: "untagged" }));
    const refused = await rejects(
      () => creator.send(new CreateKeyCommand({ Tags: [{ TagKey: "team", TagValue: "admins" }] })),
      "AccessDeniedException",
    );
    assert.match(refused.message, /not authorized to perform: kms:TagResource on resource: \*/);
    const tagger = kmsAs(
      server.url,
      await makeUser(iam, "key-tagger", {
        p: policy(
          { Effect: "Allow", Action: "kms:CreateKey", Resource: "*" },
          { Effect: "Allow", Action: "kms:TagResource", Resource: "*", Condition: { StringEquals: { "aws:RequestTag/team": "blue" } } },
        ),
      }),
    );
    const made = (await tagger.send(new CreateKeyCommand({ Tags: [{ TagKey: "team", TagValue: "blue" }] }))).KeyMetadata!;
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: made.KeyId }))).Tags, [{ TagKey: "team", TagValue: "blue" }]);
    await rejects(() => tagger.send(new CreateKeyCommand({ Tags: [{ TagKey: "team", TagValue: "admins" }] })), "AccessDeniedException");
    for (const c of [creator, tagger]) c.destroy();
    iam.destroy();
  });

  it("refuses duplicate, reserved and malformed alias names", async () => {
    await kms.send(new CreateAliasCommand({ AliasName: "alias/taken", TargetKeyId: a }));
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/taken", TargetKeyId: b })), "AlreadyExistsException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/aws/s3", TargetKeyId: a })), "InvalidAliasNameException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "noprefix", TargetKeyId: a })), "InvalidAliasNameException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/", TargetKeyId: a })), "InvalidAliasNameException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/has space", TargetKeyId: a })), "ValidationException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/" + "x".repeat(251), TargetKeyId: a })), "ValidationException");
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/other", TargetKeyId: "alias/taken" })), "NotFoundException");
    await rejects(
      () => kms.send(new CreateAliasCommand({ AliasName: "alias/ghost", TargetKeyId: "00000000-0000-0000-0000-000000000000" })),
      "NotFoundException",
    );
  });

  it("an alias cannot be pointed at a key pending deletion, and aliases are per region", async () => {
    const doomed = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
    await rejects(() => kms.send(new CreateAliasCommand({ AliasName: "alias/doomed", TargetKeyId: doomed })), "KMSInvalidStateException");
    await kms.send(new CreateAliasCommand({ AliasName: "alias/regional", TargetKeyId: a }));
    const west = server.client("us-west-2");
    await rejects(() => west.send(new EncryptCommand({ KeyId: "alias/regional", Plaintext: Buffer.from("x") })), "NotFoundException");
  });

  it("ListAliases pages with Limit and Marker", async () => {
    const client = server.client("eu-central-1");
    const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 5; i++) await client.send(new CreateAliasCommand({ AliasName: `alias/page-${i}`, TargetKeyId: key }));
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListAliasesCommand({ Limit: 2, Marker: marker }));
      names.push(...page.Aliases!.map((x) => x.AliasName!));
      marker = page.NextMarker;
      assert.equal(page.Truncated, marker !== undefined);
    } while (marker);
    assert.deepEqual(names, ["alias/page-0", "alias/page-1", "alias/page-2", "alias/page-3", "alias/page-4"]);
    await rejects(() => client.send(new ListAliasesCommand({ Limit: 101 })), "ValidationException");
  });

  it("TagResource adds and overwrites, UntagResource removes, ListResourceTags lists in key order", async () => {
    await kms.send(
      new TagResourceCommand({
        KeyId: a,
        Tags: [
          { TagKey: "env", TagValue: "dev" },
          { TagKey: "app", TagValue: "x" },
        ],
      }),
    );
    await kms.send(new TagResourceCommand({ KeyId: a, Tags: [{ TagKey: "env", TagValue: "prod" }] }));
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: a }))).Tags, [
      { TagKey: "app", TagValue: "x" },
      { TagKey: "env", TagValue: "prod" },
    ]);
    await kms.send(new UntagResourceCommand({ KeyId: a, TagKeys: ["app"] }));
    const after = await kms.send(new ListResourceTagsCommand({ KeyId: a }));
    assert.deepEqual(after.Tags, [{ TagKey: "env", TagValue: "prod" }]);
    assert.equal(after.Truncated, false);
  });

  it("refuses reserved, duplicate and too many tags without a partial write", async () => {
    const k = (await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: "keep", TagValue: "1" }] }))).KeyMetadata!.KeyId!;
    await rejects(() => kms.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: "aws:x", TagValue: "v" }] })), "TagException");
    await rejects(
      () =>
        kms.send(
          new TagResourceCommand({
            KeyId: k,
            Tags: [
              { TagKey: "d", TagValue: "1" },
              { TagKey: "d", TagValue: "2" },
            ],
          }),
        ),
      "TagException",
    );
    await rejects(
      () => kms.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: "x".repeat(129), TagValue: "v" }] })),
      "ValidationException",
    );
    const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${String(i).padStart(2, "0")}`, TagValue: "v" }));
    // 1 existing + 50 new = 51: refused whole.
    await rejects(() => kms.send(new TagResourceCommand({ KeyId: k, Tags: fifty })), "LimitExceededException");
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: k }))).Tags, [{ TagKey: "keep", TagValue: "1" }]);
    await kms.send(new TagResourceCommand({ KeyId: k, Tags: fifty.slice(0, 49) }));
    const first = await kms.send(new ListResourceTagsCommand({ KeyId: k, Limit: 20 }));
    assert.equal(first.Tags!.length, 20);
    assert.equal(first.Truncated, true);
    const rest = await kms.send(new ListResourceTagsCommand({ KeyId: k, Marker: first.NextMarker }));
    assert.equal(rest.Tags!.length, 30);
    await rejects(
      () => kms.send(new CreateKeyCommand({ Tags: [...fifty, { TagKey: "one-more", TagValue: "v" }] })),
      "LimitExceededException",
    );
  });
});
