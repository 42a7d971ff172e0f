/**
 * The console's Secrets, S3, IAM and event history pages and the key dependency view, in Debian's
 * chromium against a keyhold set up through the SDK: what the pages show is checked against what
 * was made, and what they do (a secret value retrieved, a filter applied) against the trail.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutBucketEncryptionCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ACCOUNT_ID, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS } from "./iam.js";
import { s3Client } from "./s3.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from "./helpers.js";
import type { Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, signInWithKeys } from "./console.js";

/** Follows a console route in the page (a hash change: no reload, so the session stays). */
async function go(page: Page, route: string): Promise<void> {
  await page.evaluate((r) => {
    window.location.hash = r;
  }, route);
}

const SECRET_VALUE = '{"password":"<b>hunter2</b>"}';

describe("console pages in chromium", () => {
  let server: TestServer;
  let key: KeyMetadata;
  let trail: CloudTrailClient;

  before(async () => {
    server = await startTestServer();
    const kms = server.client();
    key = (await kms.send(new CreateKeyCommand({ Description: "orders" }))).KeyMetadata!;
    await kms.send(new CreateAliasCommand({ AliasName: "alias/orders", TargetKeyId: key.KeyId }));
    await kms.send(
      new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT_ID}:root`, Operations: ["Decrypt"] }),
    );
    const s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: "orders-archive" }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "orders-archive",
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: "alias/orders" } }],
        },
      }),
    );
    for (const k of ["2026/01.csv", "2026/02.csv"])
      await s3.send(new PutObjectCommand({ Bucket: "orders-archive", Key: k, Body: `rows of ${k}` }));
    s3.destroy();
    const sm = new SecretsManagerClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    await sm.send(new CreateSecretCommand({ Name: "orders/db", KmsKeyId: key.Arn, SecretString: "first" }));
    await sm.send(new PutSecretValueCommand({ SecretId: "orders/db", SecretString: SECRET_VALUE }));
    sm.destroy();
    // alice may encrypt with the key but not disable it: her refused DisableKey is an error event.
    const iam = iamClient(server.url);
    const alice = await makeUser(iam, "alice", {
      kms: policy({ Effect: "Allow", Action: ["kms:Encrypt"], Resource: key.Arn }),
    });
    iam.destroy();
    const asAlice = kmsAs(server.url, alice);
    await asAlice.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("x") }));
    await assert.rejects(asAlice.send(new DisableKeyCommand({ KeyId: key.KeyId })), { name: "AccessDeniedException" });
    asAlice.destroy();
    trail = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
  });
  after(async () => {
    trail?.destroy();
    await server?.stop();
  });

  test("the dependency view of a key that encrypts a bucket and a secret", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await go(page, `/keys/${key.KeyId}`);
      await page.getByRole("tab", { name: "Dependencies" }).click();
      const panel = page.locator('[data-testid="key-dependencies"]');
      await panel.locator('[data-testid="dep-buckets"]').getByText("1", { exact: true }).waitFor();
      assert.equal(await panel.locator('[data-testid="dep-objects"]').innerText(), "2 (of 2 examined)");
      assert.equal(await panel.locator('[data-testid="dep-secret-versions"]').innerText(), "2 in 1 secrets");
      assert.equal(await panel.locator('[data-testid="dep-grants"]').innerText(), "1");
      assert.equal(await panel.locator('[data-testid="dep-aliases"]').innerText(), "1");
      const buckets = page.locator('[data-testid="dep-buckets-table"]');
      await buckets.getByText("orders-archive").waitFor();
      await buckets.getByText("alias/orders").waitFor();
      const secrets = page.locator('[data-testid="dep-secrets-table"]');
      await secrets.getByText("orders/db").waitFor();
      await secrets.getByText("AWSCURRENT; AWSPREVIOUS").or(secrets.getByText("AWSPREVIOUS; AWSCURRENT")).waitFor();
      // The use from the trail: alice's Encrypt and her refused DisableKey among the calls.
      const usage = await page.locator('[data-testid="dep-usage-summary"]').innerText();
      assert.match(usage, /Encrypt 1/);
      assert.match(usage, /DisableKey 1/);
      assert.match(usage, /1 refused/);
      assert.match(usage, /GenerateDataKey 4/); // two objects, two secret versions
      await page.getByRole("img", { name: "Calls per hour by operation" }).or(page.locator("svg[aria-label]").first()).first().waitFor();
      // The last day, hour by hour, for the picture.
      await page.getByText("1 day", { exact: true }).click();
      await page.locator('[data-testid="dep-usage-summary"]').waitFor();
      await screenshot(page, "key-dependencies");

      // Before disabling, the dialog says what would become unreadable.
      await page.getByRole("button", { name: "Key actions" }).click();
      await page.getByRole("menuitem", { name: "Disable" }).click();
      const dialog = page.locator('[data-testid="key-action-modal"]');
      await dialog.getByText("What depends on this key").waitFor();
      await dialog.locator('[data-testid="dep-objects"]').getByText("2 (of 2 examined)").waitFor();
      assert.equal(await dialog.locator('[data-testid="dep-secret-versions"]').innerText(), "2 in 1 secrets");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  test("event history: filters by event name and user, shows each record's JSON, highlights refusals", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await go(page, "/events");
      const table = page.locator('[data-testid="events-table"]');
      // Newest first: the console's own calls (sign-in, this page) are at the top.
      await table.getByText("sts.amazonaws.com").first().waitFor();
      await screenshot(page, "event-history");

      await page.getByLabel("Event name").fill("DisableKey");
      await page.getByLabel("User name").fill("alice");
      await page.getByRole("button", { name: "Apply filters" }).click();
      const errorCell = table.locator('[data-testid="event-error"]');
      await errorCell.getByText("DisableKey").waitFor();
      await table.getByText("sts.amazonaws.com").first().waitFor({ state: "detached" });
      assert.equal(await table.locator("tbody tr").count(), 1);
      await table.getByText("AccessDeniedException").first().waitFor();
      await table.getByText("View event").click();
      const record = JSON.parse(await table.locator('[data-testid="event-json"]').innerText()) as Record<string, unknown>;
      assert.equal(record.eventName, "DisableKey");
      assert.equal(record.errorCode, "AccessDeniedException");
      assert.equal((record.userIdentity as { userName?: string }).userName, "alice");
      await screenshot(page, "event-history-filtered");

      // The same user, another event: her Encrypt, which succeeded (no highlight).
      await page.getByLabel("Event name").fill("Encrypt");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await table.getByText("kms.amazonaws.com", { exact: true }).waitFor();
      await table.getByText("DisableKey").waitFor({ state: "detached" });
      assert.equal(await table.locator("tbody tr").count(), 1);
      assert.equal(await table.locator('[data-testid="event-error"]').count(), 0);

      // A time range that ends before anything happened: nothing.
      await page.getByRole("button", { name: /Time range/ }).click();
      await page.getByRole("option", { name: "Between (UTC)…" }).click();
      await page.getByLabel("To").fill("2020-01-01T00:00");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await table.getByText("No events match the filters.").waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  test("a secret's value is fetched only on request, shown as text, and forgotten on navigation", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    const retrievals = async () =>
      (await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "GetSecretValue" }] })))
        .Events?.length ?? 0;
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await go(page, "/secrets");
      await page.getByRole("link", { name: "orders/db" }).click();
      const value = page.locator('[data-testid="secret-value"]');
      await value.getByText("Not retrieved.").waitFor();
      await page.locator('[data-testid="secret-versions"]').getByText("AWSPREVIOUS").waitFor();
      assert.equal(await retrievals(), 0);
      assert.equal(await page.getByText("hunter2").count(), 0);

      await page.getByRole("button", { name: "Retrieve secret value" }).click();
      // Shown as the text it is: the markup in it is not interpreted.
      assert.equal(await value.locator('[data-testid="secret-value-text"]').innerText(), SECRET_VALUE);
      assert.equal(await page.locator("b", { hasText: "hunter2" }).count(), 0);
      assert.equal(await retrievals(), 1);

      await go(page, "/secrets");
      await page.getByRole("link", { name: "orders/db" }).click();
      await value.getByText("Not retrieved.").waitFor();
      assert.equal(await page.getByText("hunter2").count(), 0);
      assert.equal(await retrievals(), 1);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  test("S3: a bucket's objects with their encryption and key; a bucket policy checked before and refused by S3 in its words", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    try {
      const { page, problems } = await openConsole(browser, server.url);
      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await go(page, "/s3");
      await page.locator('[data-testid="buckets-table"]').getByText("SSE-KMS (alias/orders)").waitFor();
      await page.getByRole("link", { name: "orders-archive" }).click();
      const objects = page.locator('[data-testid="objects-table"]');
      await objects.getByText("2026/01.csv").waitFor();
      assert.equal(await objects.getByText("SSE-KMS").count(), 2);
      assert.equal(await objects.getByText(key.Arn!).count(), 2);

      await page.getByRole("tab", { name: "Bucket policy" }).click();
      const editor = page.getByRole("textbox", { name: "Policy (JSON)" });
      await editor.fill("{ not json");
      await page.getByText(/^Not JSON/).waitFor();
      assert.equal(await page.getByRole("button", { name: "Save policy" }).isDisabled(), true);
      // Well-formed, but naming another bucket: S3's MalformedPolicy, as S3 words it.
      await editor.fill(policy({ Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::someone-else/*" }));
      await page.getByRole("button", { name: "Save policy" }).click();
      await page
        .locator('[data-testid="error-alert"]')
        .getByText(/Policy has invalid resource/)
        .waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
