/** KMS grants through the SDK: creation, use by the grantee, constraints, listing, retiring and revoking. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  type GrantConstraints,
  KMSClient,
} from "@aws-sdk/client-kms";
import type { IAMClient } from "@aws-sdk/client-iam";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy } from "./iam.js";

const user = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:user/${name}`;

describe("KMS grants", () => {
  let server: TestServer;
  let root: KMSClient;
  let iam: IAMClient;
  let keyId: string;
  let grantee: KMSClient;
  let retirer: KMSClient;
  before(async () => {
    server = await startTestServer();
    root = server.client();
    iam = iamClient(server.url);
    keyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    grantee = kmsAs(server.url, await makeUser(iam, "grantee"));
    retirer = kmsAs(
      server.url,
      await makeUser(iam, "retirer", { p: policy({ Effect: "Allow", Action: "kms:ListRetirableGrants", Resource: "*" }) }),
    );
  });
  after(async () => {
    grantee.destroy();
    retirer.destroy();
    iam.destroy();
    await server.stop();
  });

  it("a grant lets its grantee do its operations at once, within its constraints, and nothing else", async () => {
    const Plaintext = Buffer.from("granted");
    await rejects(() => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext })), "AccessDeniedException");
    const { GrantId, GrantToken } = await root.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: user("grantee"),
        RetiringPrincipal: user("retirer"),
        Operations: ["Encrypt", "Decrypt"],
        Constraints: { EncryptionContextEquals: { purpose: "backup" } },
      }),
    );
    assert.match(GrantId!, /^[0-9a-f]{64}$/);
    const ctx = { purpose: "backup" };
    const blob = (await grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: ctx, GrantTokens: [GrantToken!] })))
      .CiphertextBlob!;
    assert.deepEqual(
      Buffer.from((await grantee.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx }))).Plaintext!),
      Plaintext,
    );
    // In a constraint the context's keys match without regard to case, the values exactly.
    await grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: { PURPOSE: "backup" } }));
    await rejects(
      () => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: { purpose: "BACKUP" } })),
      "AccessDeniedException",
    );
    await rejects(
      () => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: { purpose: "backup", more: "x" } })),
      "AccessDeniedException",
    );
    await rejects(() => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext })), "AccessDeniedException");
    await rejects(() => grantee.send(new DescribeKeyCommand({ KeyId: keyId })), "AccessDeniedException");
    await rejects(
      () => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: ctx, GrantTokens: ["not-a-token"] })),
      "InvalidGrantTokenException",
    );

    const listed = (await root.send(new ListGrantsCommand({ KeyId: keyId }))).Grants!;
    const entry = listed.find((g) => g.GrantId === GrantId)!;
    assert.deepEqual(entry.Operations, ["Encrypt", "Decrypt"]);
    assert.equal(entry.GranteePrincipal, user("grantee"));
    assert.equal(entry.IssuingAccount, `arn:aws:iam::${ACCOUNT_ID}:root`);
    assert.deepEqual(entry.Constraints, { EncryptionContextEquals: { purpose: "backup" } });
    assert.deepEqual(
      (await retirer.send(new ListRetirableGrantsCommand({ RetiringPrincipal: user("retirer") }))).Grants!.map((g) => g.GrantId),
      [GrantId],
    );

    // ListRetirableGrants authorizes the principal it names, which must be of the caller's account.
    const elsewhere = await rejects(
      () => retirer.send(new ListRetirableGrantsCommand({ RetiringPrincipal: "arn:aws:iam::444455556666:root" })),
      "AccessDeniedException",
    );
    assert.match(elsewhere.message, /kms:ListRetirableGrants on resource: arn:aws:iam::444455556666:root/);
    await rejects(() => retirer.send(new ListRetirableGrantsCommand({ RetiringPrincipal: "not-a-principal" })), "InvalidArnException");
    const own = kmsAs(
      server.url,
      await makeUser(iam, "own-retirables", {
        p: policy({ Effect: "Allow", Action: "kms:ListRetirableGrants", Resource: user("own-retirables") }),
      }),
    );
    assert.deepEqual((await own.send(new ListRetirableGrantsCommand({ RetiringPrincipal: user("own-retirables") }))).Grants, []);
    await rejects(() => own.send(new ListRetirableGrantsCommand({ RetiringPrincipal: user("retirer") })), "AccessDeniedException");
    own.destroy();

    // The grantee may not retire it (no RetireGrant operation); the retiring principal may, by token.
    await rejects(() => grantee.send(new RetireGrantCommand({ GrantToken })), "AccessDeniedException");
    // Grants are regional: the token, or the key's ARN, means nothing in another region.
    const west = new KMSClient({
      endpoint: server.url,
      region: "us-west-2",
      credentials: await retirer.config.credentials(),
      maxAttempts: 1,
    });
    await rejects(() => west.send(new RetireGrantCommand({ GrantToken })), "NotFoundException");
    await rejects(
      () => west.send(new RetireGrantCommand({ KeyId: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${keyId}`, GrantId })),
      "NotFoundException",
    );
    west.destroy();
    await retirer.send(new RetireGrantCommand({ GrantToken }));
    await rejects(() => grantee.send(new EncryptCommand({ KeyId: keyId, Plaintext, EncryptionContext: ctx })), "AccessDeniedException");
    await rejects(() => retirer.send(new RetireGrantCommand({ GrantToken })), "NotFoundException");
  });

  it("Name makes CreateGrant idempotent; RevokeGrant ends a grant; a grant to CreateGrant passes on only its own operations", async () => {
    const input = {
      KeyId: keyId,
      GranteePrincipal: user("grantee"),
      Operations: ["DescribeKey" as const, "CreateGrant" as const],
      Name: "nightly",
    };
    const first = await root.send(new CreateGrantCommand(input));
    const again = await root.send(new CreateGrantCommand(input));
    assert.equal(again.GrantId, first.GrantId);
    await grantee.send(new DescribeKeyCommand({ KeyId: keyId }));
    // The grantee may grant a subset of its operations, not more.
    await grantee.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user("retirer"), Operations: ["DescribeKey"] }));
    await rejects(
      () => grantee.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user("retirer"), Operations: ["Encrypt"] })),
      "AccessDeniedException",
    );

    await rejects(() => root.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: "nope" })), "InvalidGrantIdException");
    await rejects(() => root.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: "0".repeat(64) })), "NotFoundException");
    await root.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: first.GrantId }));
    await rejects(() => grantee.send(new DescribeKeyCommand({ KeyId: keyId })), "AccessDeniedException");
  });

  it("a constrained grant to CreateGrant passes on only grants at least as strict: no way out of its encryption context", async () => {
    // A key whose grantee may Decrypt and CreateGrant under `Constraints`; what the grantee may pass on from it.
    const constrained = async (Constraints: GrantConstraints) => {
      const KeyId = (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const Operations = ["Decrypt" as const, "CreateGrant" as const];
      await root.send(new CreateGrantCommand({ KeyId, GranteePrincipal: user("grantee"), Operations, Constraints }));
      return (passed?: GrantConstraints) =>
        grantee.send(new CreateGrantCommand({ KeyId, GranteePrincipal: user("retirer"), Operations, Constraints: passed }));
    };
    // Equals: only the same Equals (keys without regard to case) may be passed on.
    const fromEquals = await constrained({ EncryptionContextEquals: { tenant: "a" } });
    await rejects(() => fromEquals(), "AccessDeniedException");
    await rejects(() => fromEquals({ EncryptionContextSubset: { tenant: "a" } }), "AccessDeniedException");
    await rejects(() => fromEquals({ EncryptionContextEquals: { tenant: "b" } }), "AccessDeniedException");
    await rejects(() => fromEquals({ EncryptionContextEquals: { tenant: "a", extra: "x" } }), "AccessDeniedException");
    await fromEquals({ EncryptionContextEquals: { TENANT: "a" } });
    // Subset: a Subset or an Equals that keeps every pair of it.
    const fromSubset = await constrained({ EncryptionContextSubset: { tenant: "a" } });
    await rejects(() => fromSubset(), "AccessDeniedException");
    await rejects(() => fromSubset({ EncryptionContextSubset: { other: "a" } }), "AccessDeniedException");
    await fromSubset({ EncryptionContextSubset: { tenant: "a", region: "eu" } });
    await fromSubset({ EncryptionContextEquals: { tenant: "a", region: "eu" } });
  });

  it("bounds grant constraints: at most 8 pairs, values up to 384 characters, symmetric encryption keys only", async () => {
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    const create = (KeyId: string, Constraints: GrantConstraints) =>
      root.send(new CreateGrantCommand({ KeyId, GranteePrincipal: user("grantee"), Operations: ["DescribeKey"], Constraints }));
    await create(keyId, { EncryptionContextSubset: pairs(8) });
    await rejects(() => create(keyId, { EncryptionContextSubset: pairs(9) }), "ValidationException");
    await rejects(() => create(keyId, { EncryptionContextEquals: { k: "v".repeat(385) } }), "ValidationException");
    const signing = (await root.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
    await rejects(() => create(signing, { EncryptionContextSubset: { k: "v" } }), "ValidationException");
  });

  it("grants only to principals that exist: an unknown grantee or retiring principal is InvalidArnException", async () => {
    const grant = (GranteePrincipal: string, RetiringPrincipal?: string) =>
      root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal, RetiringPrincipal, Operations: ["DescribeKey"] }));
    await rejects(() => grant(user("never-made")), "InvalidArnException");
    await rejects(() => grant(user("grantee"), user("never-made")), "InvalidArnException");
    await rejects(() => grant("arn:aws:iam::999999999999:root"), "InvalidArnException");
    assert.ok((await grant(user("grantee"), user("retirer"))).GrantId);
  });

  it("refuses malformed grants: no operations, an operation the key cannot do, a principal that is no principal", async () => {
    await rejects(
      () => root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user("x"), Operations: [] })),
      "ValidationException",
    );
    await rejects(
      () => root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user("x"), Operations: ["Sign"] })),
      "ValidationException",
    );
    await rejects(
      () => root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: "bob", Operations: ["Encrypt"] })),
      "ValidationException",
    );
    await rejects(
      () => root.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user("x"), Operations: ["Steal" as "Encrypt"] })),
      "ValidationException",
    );
  });
});
