/**
 * The console's IAM and S3 pages and its change-password sign-in step, in Debian's chromium: what
 * is done on screen (a user created with a console password and an access key, put in a group, a
 * policy attached; a file uploaded and downloaded; a password that must be reset changed at
 * sign-in) is then checked through the SDK.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreatePolicyCommand,
  GetLoginProfileCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  UpdateAccountPasswordPolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateKeyCommand, type KeyMetadata } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketEncryptionCommand } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import type { Page } from "playwright-core";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, policy, ROOT_CREDS, stsClient } from "./iam.js";
import { bytesOf, s3Client } from "./s3.js";
import { launchBrowser, openConsole, screenshot, signedIn, signInWithKeys } from "./console.js";

/** Follows a console route in the page (a hash change: no reload, so the session stays). */
async function go(page: Page, route: string): Promise<void> {
  await page.evaluate((r) => {
    window.location.hash = r;
  }, route);
}

const FIRST_PASSWORD = "Temporary-Pass-1234";
const NEW_PASSWORD = "Chosen-By-Dana-5678-long";

describe("console IAM and S3 pages, and the change-password sign-in step, in chromium", () => {
  let server: TestServer;
  let key: KeyMetadata;
  let policyArn: string;

  before(async () => {
    server = await startTestServer();
    const iam = iamClient(server.url);
    // A group nobody belongs to, under a path: listed only because the page calls ListGroups.
    await iam.send(new CreateGroupCommand({ GroupName: "auditors", Path: "/audit/" }));
    policyArn = (
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: "ReadOrders",
          PolicyDocument: policy({ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::orders/*" }),
        }),
      )
    ).Policy!.Arn!;
    iam.destroy();
    key = (await server.client().send(new CreateKeyCommand({ Description: "uploads" }))).KeyMetadata!;
    const s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: "uploads" }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "uploads",
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: key.KeyId } }],
        },
      }),
    );
    s3.destroy();
  });
  after(async () => {
    await server?.stop();
  });

  test("IAM: create a user, give it a console password and an access key, add it to a group, attach a policy", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    const iam = iamClient(server.url);
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);

      // A group made on the groups page; the list holds it and the SDK-made one, members or not.
      await go(page, "/iam/groups");
      const groups = page.locator('[data-testid="groups-table"]');
      await groups.getByRole("link", { name: "auditors" }).waitFor();
      await page.getByLabel("Group name").fill("readers");
      await page.getByRole("button", { name: "Create group" }).click();
      await page.getByRole("heading", { name: "readers" }).first().waitFor();
      await go(page, "/iam/groups");
      await groups.getByRole("link", { name: "readers" }).waitFor();
      await groups.getByText("/audit/").waitFor();
      assert.equal(await groups.locator("tbody tr").count(), 2);
      await screenshot(page, "iam-groups");

      await go(page, "/iam/users");
      await page.getByLabel("User name").fill("dana");
      await page.getByRole("button", { name: "Create user" }).click();
      await page.locator('[data-testid="users-table"]').getByRole("link", { name: "dana" }).click();
      await page.getByRole("heading", { name: "dana" }).first().waitFor();

      // The console password, to be changed at the first sign-in (the box is ticked by default).
      const profile = page.locator('[data-testid="login-profile"]');
      await profile.locator('[data-testid="no-login-profile"]').waitFor();
      await profile.getByLabel("Console password").fill(FIRST_PASSWORD);
      await profile.getByRole("button", { name: "Enable console access" }).click();
      await profile.getByText("Must change at next sign-in").waitFor();
      await profile.getByText("Yes", { exact: true }).waitFor();
      // The password typed is gone from the form once sent.
      assert.equal(await profile.getByLabel("Console password").inputValue(), "");

      await page.getByRole("button", { name: "Create access key" }).click();
      const created = page.locator('[data-testid="new-access-key"]');
      const shown = await created.innerText();
      const accessKeyId = /Access key ID: (\S+)/.exec(shown)![1]!;
      const secretAccessKey = /Secret access key: (\S+)/.exec(shown)![1]!;
      await screenshot(page, "iam-user-credentials");

      await page.getByRole("tab", { name: "Groups" }).click();
      await page.locator('[data-testid="group-select"]').getByRole("button").first().click();
      await page.getByRole("option", { name: "readers" }).click();
      await page.getByRole("button", { name: "Add to group" }).click();
      await page.locator('[data-testid="user-groups"]').getByText("readers", { exact: true }).waitFor();

      await page.getByRole("tab", { name: "Permissions" }).click();
      // Chosen from the account's customer managed policies by typing part of its name.
      await page.getByLabel("Policy ARN").fill("ReadOrd");
      await page.getByRole("option", { name: /ReadOrders/ }).click();
      assert.equal(await page.getByLabel("Policy ARN").inputValue(), policyArn);
      await page.getByRole("button", { name: "Attach" }).click();
      await page.locator('[data-testid="attached-policies"]').getByText("ReadOrders", { exact: true }).waitFor();
      assert.deepEqual(problems, []);

      // Through the SDK: what the clicks did.
      const login = (await iam.send(new GetLoginProfileCommand({ UserName: "dana" }))).LoginProfile!;
      assert.equal(login.PasswordResetRequired, true);
      const keys = (await iam.send(new ListAccessKeysCommand({ UserName: "dana" }))).AccessKeyMetadata!;
      assert.deepEqual(
        keys.map((k) => [k.AccessKeyId, k.Status]),
        [[accessKeyId, "Active"]],
      );
      const sts = stsClient(server.url, { accessKeyId, secretAccessKey });
      assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:iam::${ACCOUNT_ID}:user/dana`);
      sts.destroy();
      assert.deepEqual(
        (await iam.send(new ListGroupsForUserCommand({ UserName: "dana" }))).Groups!.map((g) => g.GroupName),
        ["readers"],
      );
      assert.deepEqual(
        (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "dana" }))).AttachedPolicies!.map((p) => p.PolicyArn),
        [policyArn],
      );
    } finally {
      iam.destroy();
      await browser.close();
    }
  });

  test("a password that must be reset: sign-in leads to the change-password form, the policy's refusal shown, then a normal session", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    const iam = iamClient(server.url);
    try {
      // frank's administrator gave him a password he must change at the first sign-in.
      await iam.send(new CreateUserCommand({ UserName: "frank" }));
      await iam.send(new CreateLoginProfileCommand({ UserName: "frank", Password: FIRST_PASSWORD, PasswordResetRequired: true }));
      await iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 20, AllowUsersToChangePassword: true }));

      const { page, problems } = await openConsole(browser, server.url);
      await page.getByLabel("Account ID").fill(ACCOUNT_ID);
      await page.getByLabel("IAM user name").fill("frank");
      await page.getByLabel("Password").fill(FIRST_PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      const form = page.locator('[data-testid="change-password"]');
      await form.getByRole("heading", { name: "Change password" }).waitFor();
      // Nothing but this form: no shell, no navigation.
      assert.equal(await page.getByRole("link", { name: "Customer managed keys" }).count(), 0);
      await screenshot(page, "change-password");

      const confirm = form.getByRole("button", { name: "Confirm password change" });
      await form.getByLabel("Old password").fill(FIRST_PASSWORD);
      await form.getByLabel("New password", { exact: true }).fill("Short-1");
      await form.getByLabel("Retype new password").fill("Short-2");
      await form.getByText("The passwords do not match.").waitFor();
      assert.equal(await confirm.isDisabled(), true);
      // Too short for the account's policy (20): refused by keyhold, in its words; still this form.
      await form.getByLabel("Retype new password").fill("Short-1");
      await confirm.click();
      await form
        .locator('[data-testid="error-alert"]')
        .getByText(/PasswordPolicyViolation/)
        .waitFor();
      assert.equal((await iam.send(new GetLoginProfileCommand({ UserName: "frank" }))).LoginProfile!.PasswordResetRequired, true);
      // A wrong old password: the sign-in's one refusal.
      await form.getByLabel("Old password").fill("not-the-password");
      await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await form.getByLabel("Retype new password").fill(NEW_PASSWORD);
      await confirm.click();
      await form
        .locator('[data-testid="error-alert"]')
        .getByText(/AuthenticationFailure/)
        .waitFor();

      await form.getByLabel("Old password").fill(FIRST_PASSWORD);
      await confirm.click();
      await signedIn(page);
      await page.getByRole("button", { name: "frank" }).waitFor();
      assert.equal(await form.count(), 0);
      assert.deepEqual(problems, []);

      // The password was changed, the requirement lifted; the new one signs in to a full session.
      assert.equal((await iam.send(new GetLoginProfileCommand({ UserName: "frank" }))).LoginProfile!.PasswordResetRequired, false);
      const again = await fetch(`${server.url}/_keyhold/console/signin`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ account: ACCOUNT_ID, userName: "frank", password: NEW_PASSWORD }),
      });
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { passwordResetRequired: boolean }).passwordResetRequired, false);
      const trail = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
      const logins = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ConsoleLogin" }] }))
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as { responseElements?: { ConsoleLogin?: string } });
      trail.destroy();
      assert.ok(logins.some((e) => e.responseElements?.ConsoleLogin === "Success"));
      assert.ok(logins.some((e) => e.responseElements?.ConsoleLogin === "Failure"));
      // No password in any record.
      assert.doesNotMatch(JSON.stringify(logins), new RegExp(`${FIRST_PASSWORD}|${NEW_PASSWORD}|Short-1`));
    } finally {
      iam.destroy();
      await browser.close();
    }
  });

  test("S3: a file uploaded in the browser is stored under the bucket's default encryption and reads back; a download returns its bytes", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    const s3 = s3Client(server.url);
    // Every byte value, twice: nothing is lost to a text encoding on the way up or down.
    const bytes = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
    ]);
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await go(page, "/s3/uploads");
      const objects = page.locator('[data-testid="objects-table"]');
      await objects.getByText("No objects.").waitFor();
      await page.locator('input[type="file"]').setInputFiles({ name: "report.bin", mimeType: "application/octet-stream", buffer: bytes });
      await page.getByRole("button", { name: "Upload", exact: true }).click();
      await objects.getByText("report.bin").waitFor();
      await objects.getByText("SSE-KMS").waitFor();

      const head = await s3.send(new HeadObjectCommand({ Bucket: "uploads", Key: "report.bin" }));
      assert.equal(head.ServerSideEncryption, "aws:kms");
      assert.equal(head.SSEKMSKeyId, key.Arn);
      const got = await s3.send(new GetObjectCommand({ Bucket: "uploads", Key: "report.bin" }));
      assert.deepEqual(await bytesOf(got.Body), bytes);

      await objects
        .getByRole("row", { name: /report\.bin/ })
        .locator('input[type="radio"]')
        .check({ force: true });
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
      assert.equal(download.suggestedFilename(), "report.bin");
      assert.deepEqual(readFileSync(await download.path()), bytes);
      assert.deepEqual(problems, []);
    } finally {
      s3.destroy();
      await browser.close();
    }
  });
});
