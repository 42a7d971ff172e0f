/** The admin API for accounts: AWS Organizations' CreateAccount, then into the new account through its role, as on AWS. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateAccountCommand,
  DescribeAccountCommand,
  DescribeCreateAccountStatusCommand,
  ListAccountsCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CreateKeyCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS, stsClient, type Creds } from "./iam.js";

const orgClient = (url: string, credentials: Creds) =>
  new OrganizationsClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });

describe("AWS Organizations: accounts as tenants", () => {
  let server: TestServer;
  let org: OrganizationsClient;
  before(async () => {
    server = await startTestServer();
    org = orgClient(server.url, ROOT_CREDS);
  });
  after(async () => {
    org.destroy();
    await server.stop();
  });

  it("CreateAccount makes a member account reachable through OrganizationAccountAccessRole; tenants do not see each other", async () => {
    const status = (await org.send(new CreateAccountCommand({ Email: "tenant-a@example.com", AccountName: "tenant-a" })))
      .CreateAccountStatus!;
    assert.equal(status.State, "SUCCEEDED");
    assert.match(status.Id!, /^car-[a-z0-9]{8,32}$/);
    assert.match(status.AccountId!, /^\d{12}$/);
    const again = (await org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: status.Id }))).CreateAccountStatus!;
    assert.equal(again.AccountId, status.AccountId);
    await rejects(
      () => org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: "car-00000000" })),
      "CreateAccountStatusNotFoundException",
    );
    // An address in use fails the request, as Organizations reports it: in the status, not as an error.
    const dup = (await org.send(new CreateAccountCommand({ Email: "tenant-a@example.com", AccountName: "again" }))).CreateAccountStatus!;
    assert.deepEqual([dup.State, dup.FailureReason, dup.AccountId], ["FAILED", "EMAIL_ALREADY_EXISTS", undefined]);
    const dupLater = (await org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: dup.Id }))).CreateAccountStatus!;
    assert.equal(dupLater.State, "FAILED");
    await rejects(() => org.send(new CreateAccountCommand({ Email: "not-an-email", AccountName: "x" })), "InvalidInputException");

    const accounts = (await org.send(new ListAccountsCommand({}))).Accounts!;
    assert.deepEqual(accounts.map((a) => a.Id).sort(), [ACCOUNT_ID, status.AccountId].sort());
    const member = (await org.send(new DescribeAccountCommand({ AccountId: status.AccountId }))).Account!;
    assert.deepEqual([member.Name, member.Email, member.Status], ["tenant-a", "tenant-a@example.com", "ACTIVE"]);
    await rejects(() => org.send(new DescribeAccountCommand({ AccountId: "999999999999" })), "AccountNotFoundException");

    // The management account's administrator assumes the role into the new account.
    const admin = await makeUser(iamClient(server.url), "org-admin", {
      p: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }),
    });
    const session = await stsClient(server.url, admin).send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${status.AccountId}:role/OrganizationAccountAccessRole`, RoleSessionName: "setup" }),
    );
    const tenantCreds: Creds = {
      accessKeyId: session.Credentials!.AccessKeyId!,
      secretAccessKey: session.Credentials!.SecretAccessKey!,
      sessionToken: session.Credentials!.SessionToken!,
    };
    const who = await stsClient(server.url, tenantCreds).send(new GetCallerIdentityCommand({}));
    assert.equal(who.Account, status.AccountId);
    const tenantKms = kmsAs(server.url, tenantCreds);
    const tenantKey = (await tenantKms.send(new CreateKeyCommand({}))).KeyMetadata!;
    assert.equal(tenantKey.AWSAccountId, status.AccountId);

    // The management account does not see the tenant's key by id, nor by ARN (its policy names only the tenant).
    const mgmtKms = server.client();
    await rejects(() => mgmtKms.send(new DescribeKeyCommand({ KeyId: tenantKey.KeyId })), "NotFoundException");
    await rejects(() => mgmtKms.send(new DescribeKeyCommand({ KeyId: tenantKey.Arn })), "AccessDeniedException");

    // A member account cannot manage the organization.
    await rejects(() => orgClient(server.url, tenantCreds).send(new ListAccountsCommand({})), "AccessDeniedException");
    // Nor can a management-account user without organizations permissions.
    await rejects(() => orgClient(server.url, admin).send(new ListAccountsCommand({})), "AccessDeniedException");
  });
});
