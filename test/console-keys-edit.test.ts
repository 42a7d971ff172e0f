/**
 * The key page's editing in Debian's chromium, each change checked through the SDK afterwards and
 * each refusal shown with KMS's own message: the description (UpdateKeyDescription), tags
 * (TagResource/UntagResource), aliases (CreateAlias/DeleteAlias), the key policy in the JSON view
 * (a syntax error placed at its line and column before anything is sent; PutKeyPolicy's
 * MalformedPolicyDocumentException on refusal), automatic rotation with a period, on-demand
 * rotation and its history, the grants; and the wizard's multi-Region option, which keyhold's KMS
 * refuses. One server, one browser, one administrator's session for the whole file.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  type CreateKeyRequest,
  DescribeKeyCommand,
  DisableKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  type KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
  UpdateKeyDescriptionCommand,
} from "@aws-sdk/client-kms";
import type { Browser, Page } from "playwright-core";
import { ACCOUNT_ID, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";
import { launchBrowser, openConsole, screenshot, sideNavigation, signInWithKeys } from "./console.js";

/** What KMS answers `send` with, as the SDK sees it: the error's name and message. */
async function refusal(send: () => Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await send();
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error("the call was expected to be refused");
}

describe("console: editing a key on its page, rotation and grants, the wizard's multi-Region option", () => {
  let server: TestServer;
  let kms: KMSClient;
  let admin: Creds;
  let browser: Browser | undefined;
  let page: Page;
  let problems: string[];
  const adminArn = `arn:aws:iam::${ACCOUNT_ID}:user/Administrator`;

  before(async () => {
    server = await startTestServer();
    kms = server.client();
    const iam = iamClient(server.url, ROOT_CREDS);
    admin = await makeUser(iam, "Administrator", { all: policy({ Effect: "Allow", Action: "*", Resource: "*" }) });
    iam.destroy();
  });
  after(async () => {
    await browser?.close();
    await server.stop();
  });

  async function start(t: { skip(message: string): void }): Promise<boolean> {
    if (!browser) {
      t.skip("SKIPPED: no chromium (see the first test)");
      return false;
    }
    return true;
  }

  async function newKey(request: CreateKeyRequest = {}): Promise<string> {
    return (await kms.send(new CreateKeyCommand(request))).KeyMetadata!.KeyId!;
  }

  async function openKey(keyId: string): Promise<void> {
    // The last test's notifications are dismissed, so that this test's screenshots show only its own.
    // Last to first: a dismissed one leaves, and the ones before it keep their places.
    const dismiss = page.getByRole("button", { name: "Dismiss" });
    for (let i = (await dismiss.count()) - 1; i >= 0; i--) await dismiss.nth(i).click();
    await page.evaluate((hash) => (window.location.hash = hash), `/keys/${keyId}`);
    await page.getByRole("button", { name: "Key actions" }).waitFor();
  }

  async function tab(name: string): Promise<void> {
    await page.getByRole("tab", { name, exact: true }).click();
  }

  const alertIn = (testId: string) => page.locator(`[data-testid="${testId}"] [data-testid="error-alert"]`);

  async function tagsOf(keyId: string): Promise<Record<string, string>> {
    const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags ?? [];
    return Object.fromEntries(tags.map((t) => [t.TagKey!, t.TagValue!]));
  }

  async function aliasesOf(keyId: string): Promise<string[]> {
    const aliases = (await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases ?? [];
    return aliases.map((a) => a.AliasName!).sort();
  }

  test("the description, tags and aliases are edited on the key page; KMS's refusals are shown", async (t) => {
    browser = await launchBrowser(t);
    if (!browser) return;
    ({ page, problems } = await openConsole(browser, server.url));
    await signInWithKeys(page, admin.accessKeyId, admin.secretAccessKey);
    const keyId = await newKey({
      Description: "before",
      Tags: [
        { TagKey: "team", TagValue: "red" },
        { TagKey: "env", TagValue: "dev" },
      ],
    });
    await kms.send(new CreateAliasCommand({ AliasName: "alias/edit-me", TargetKeyId: keyId }));
    await openKey(keyId);

    // Description: saved, then an over-long one refused with KMS's words.
    await page.getByRole("button", { name: "Edit description" }).click();
    await page.locator('[data-testid="description-modal"]').getByRole("textbox").fill("after <b>not bold</b>");
    await page.locator('[data-testid="description-save"]').click();
    await page.locator('[data-testid="key-description"]').getByText("after <b>not bold</b>", { exact: true }).waitFor();
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description, "after <b>not bold</b>");
    const long = "x".repeat(8193);
    const tooLong = await refusal(() => kms.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: long })));
    await page.getByRole("button", { name: "Edit description" }).click();
    await page.locator('[data-testid="description-modal"]').getByRole("textbox").fill(long);
    await page.locator('[data-testid="description-save"]').click();
    const descriptionAlert = alertIn("description-modal");
    await descriptionAlert.waitFor();
    assert.ok((await descriptionAlert.innerText()).includes(tooLong.message), `the modal shows ${tooLong.message}`);
    assert.match(await descriptionAlert.innerText(), new RegExp(tooLong.name));
    await page.locator('[data-testid="description-modal"]').getByRole("button", { name: "Cancel" }).click();
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description, "after <b>not bold</b>");

    // Tags: change one, remove one, add one.
    await tab("Tags");
    const tags = page.locator('[data-testid="key-tags"]');
    await tags.getByText("red", { exact: true }).waitFor();
    await tags.getByRole("button", { name: "Edit" }).click();
    const editor = page.locator('[data-testid="key-tags-editor"]');
    const keys = editor.getByRole("textbox", { name: "Tag key" });
    const values = editor.getByRole("textbox", { name: "Tag value" });
    assert.deepEqual(await keys.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value).sort()), ["env", "team"]);
    const envRow = (await keys.nth(0).inputValue()) === "env" ? 0 : 1;
    await values.nth(envRow).fill("prod");
    await editor
      .getByRole("button", { name: "Remove" })
      .nth(1 - envRow)
      .click();
    await editor.getByRole("button", { name: "Add tag" }).click();
    await keys.last().fill("owner");
    await values.last().fill("alice");
    await screenshot(page, "key-tags-edit");
    await editor.getByRole("button", { name: "Save changes" }).click();
    await tags.getByText("alice", { exact: true }).waitFor();
    assert.deepEqual(await tagsOf(keyId), { env: "prod", owner: "alice" });

    // A tag key KMS reserves: TagException, in KMS's words, and nothing changed.
    const reserved = await refusal(() => kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: "aws:mine", TagValue: "x" }] })));
    assert.equal(reserved.name, "TagException");
    await tags.getByRole("button", { name: "Edit" }).click();
    await editor.getByRole("button", { name: "Add tag" }).click();
    await keys.last().fill("aws:mine");
    await values.last().fill("x");
    await editor.getByRole("button", { name: "Save changes" }).click();
    const tagAlert = alertIn("key-tags-editor");
    await tagAlert.waitFor();
    assert.ok((await tagAlert.innerText()).includes(`TagException`));
    assert.ok((await tagAlert.innerText()).includes(reserved.message), `the tags editor shows ${reserved.message}`);
    assert.deepEqual(await tagsOf(keyId), { env: "prod", owner: "alice" });
    await editor.getByRole("button", { name: "Cancel" }).click();

    // Aliases: create one, refuse a reserved one, delete the first.
    await tab("Aliases");
    const aliases = page.locator('[data-testid="key-aliases"]');
    await aliases.getByText("alias/edit-me", { exact: true }).waitFor();
    await aliases.getByRole("button", { name: "Create alias" }).click();
    const modal = page.locator('[data-testid="alias-modal"]');
    await modal.getByLabel("Alias name").fill("second-name");
    await page.locator('[data-testid="alias-confirm"]').click();
    await aliases.getByText("alias/second-name", { exact: true }).waitFor();
    assert.deepEqual(await aliasesOf(keyId), ["alias/edit-me", "alias/second-name"]);

    const awsAlias = await refusal(() => kms.send(new CreateAliasCommand({ AliasName: "alias/aws/mine", TargetKeyId: keyId })));
    await aliases.getByRole("button", { name: "Create alias" }).click();
    await modal.getByLabel("Alias name").fill("aws/mine");
    await page.locator('[data-testid="alias-confirm"]').click();
    const aliasAlert = alertIn("alias-modal");
    await aliasAlert.waitFor();
    assert.match(await aliasAlert.innerText(), /InvalidAliasNameException/);
    assert.ok((await aliasAlert.innerText()).includes(awsAlias.message), `the modal shows ${awsAlias.message}`);
    await modal.getByRole("button", { name: "Cancel" }).click();

    await aliases.getByRole("radio", { name: "Select alias/edit-me" }).check();
    await aliases.getByRole("button", { name: "Delete" }).click();
    await page.locator('[data-testid="alias-confirm"]').click();
    await aliases.getByText("alias/edit-me", { exact: true }).waitFor({ state: "detached" });
    assert.deepEqual(await aliasesOf(keyId), ["alias/second-name"]);
    assert.deepEqual(problems, []);
  });

  test("the key policy's JSON view: a syntax error at its line and column, KMS's refusal, a saved edit", async (t) => {
    if (!(await start(t))) return;
    const keyId = await newKey();
    const original = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: "default" }))).Policy!;
    await openKey(keyId);
    // Opening another key shows its first tab, the key policy, in the default view.
    assert.equal(await page.getByRole("tab", { name: "Key policy", exact: true }).getAttribute("aria-selected"), "true");
    await page.getByRole("button", { name: "Switch to policy view" }).click();
    await page.getByRole("button", { name: "Edit", exact: true }).click();
    const box = page.getByLabel("Policy document (JSON)");
    const doc = JSON.parse(await box.inputValue()) as { Version: string; Statement: object[] };
    assert.deepEqual(doc, JSON.parse(original));

    // A trailing comma on line 4: placed before anything is sent, Save disabled, the line marked.
    const broken = ["{", '    "Version": "2012-10-17",', '    "Statement": [', '        {"Effect": "Allow",}', "    ]", "}"].join("\n");
    await box.fill(broken);
    const column = '        {"Effect": "Allow",}'.indexOf("}") + 1;
    await page.getByText(`The policy is not valid JSON: line 4, column ${column}:`).waitFor();
    assert.equal(await page.getByRole("button", { name: "Save changes" }).isDisabled(), true);
    assert.equal(await page.locator(".kh-code-number-error").innerText(), "4");
    await screenshot(page, "key-policy-edit");

    // Valid JSON that KMS refuses: a principal that does not exist.
    const withUnknown = JSON.stringify(
      {
        ...doc,
        Statement: [
          ...doc.Statement,
          {
            Sid: "Nobody",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/Nobody` },
            Action: "kms:DescribeKey",
            Resource: "*",
          },
        ],
      },
      null,
      4,
    );
    await box.fill(withUnknown);
    await page.getByRole("button", { name: "Save changes" }).click();
    const alert = page.locator('[data-testid="error-alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /MalformedPolicyDocumentException/);
    assert.ok((await alert.innerText()).includes("Policy contains a statement with one or more invalid principals."));
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: "default" }))).Policy, original);

    // A statement for a real principal is saved.
    const withAuditor = withUnknown.replace(`user/Nobody`, "user/Administrator").replace('"Nobody"', '"Allow the auditor"');
    await box.fill(withAuditor);
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator('[data-testid="policy-json"]').getByText('"Allow the auditor"').waitFor();
    const saved = JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: "default" }))).Policy!) as {
      Statement: { Sid?: string; Principal?: unknown }[];
    };
    assert.deepEqual(saved.Statement.find((s) => s.Sid === "Allow the auditor")?.Principal, { AWS: adminArn });
    assert.deepEqual(problems, []);
  });

  test("rotation: automatic with a period, on demand, the history; the grants; a refusal shown", async (t) => {
    if (!(await start(t))) return;
    const keyId = await newKey();
    await kms.send(
      new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: adminArn, Operations: ["Encrypt", "Decrypt"], Name: "console-grant" }),
    );
    await openKey(keyId);
    await tab("Key rotation");
    await page.getByRole("checkbox", { name: "Automatically rotate this KMS key" }).check();
    const period = page.getByLabel("Rotation period (in days)");
    await period.fill("80");
    await page.getByText("The rotation period is 90 to 2560 days.").waitFor();
    assert.equal(await page.getByRole("button", { name: "Save", exact: true }).isDisabled(), true);
    await period.fill("180");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Automatic rotation every 180 days is on.").waitFor();
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(status.KeyRotationEnabled, true);
    assert.equal(status.RotationPeriodInDays, 180);

    await page.getByRole("button", { name: "Rotate now" }).click();
    await page.getByRole("cell", { name: "ON_DEMAND" }).waitFor();
    const rotations = (await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations!;
    assert.deepEqual(
      rotations.map((r) => r.RotationType),
      ["ON_DEMAND"],
    );

    await tab("Grants");
    await page.getByRole("cell", { name: "console-grant" }).waitFor();
    await page.getByRole("cell", { name: adminArn }).waitFor();
    await page.getByRole("cell", { name: "Encrypt, Decrypt" }).waitFor();

    // A disabled key cannot rotate: KMSInvalidStateException, as the SDK gets it.
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const invalid = await refusal(() => kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator('[data-testid="key-state"]').getByText("Disabled").waitFor();
    await tab("Key rotation");
    await page.getByRole("button", { name: "Rotate now" }).click();
    const alert = page.locator('[data-testid="error-alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), new RegExp(invalid.name));
    assert.ok((await alert.innerText()).includes(invalid.message), `the rotation tab shows ${invalid.message}`);
    assert.equal((await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations!.length, 1);
    assert.deepEqual(problems, []);
  });

  test("the wizard offers a multi-Region key in its advanced options; keyhold's refusal is shown on the review step", async (t) => {
    if (!(await start(t))) return;
    const before = (await kms.send(new ListKeysCommand({}))).Keys!.length;
    const refused = await refusal(() => kmsAs(server.url, admin).send(new CreateKeyCommand({ MultiRegion: true })));
    assert.equal(refused.name, "UnsupportedOperationException");

    await sideNavigation(page, "Customer managed keys");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("radio", { name: /^Symmetric/ }).waitFor();
    await page.getByRole("button", { name: "Advanced options" }).click();
    assert.equal(await page.getByRole("radio", { name: /^Single-Region key/ }).isChecked(), true);
    await page.getByRole("radio", { name: /^Multi-Region key/ }).check();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Alias", { exact: true }).fill("multi-region-key");
    for (let step = 0; step < 3; step++) await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("Multi-Region", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Finish" }).click();
    const alert = page.locator('[data-testid="error-alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /UnsupportedOperationException/);
    assert.ok((await alert.innerText()).includes(refused.message), `the review step shows ${refused.message}`);
    assert.equal((await kms.send(new ListKeysCommand({}))).Keys!.length, before);
    assert.ok(!(await kms.send(new ListAliasesCommand({}))).Aliases!.some((a) => a.AliasName === "alias/multi-region-key"));
    assert.deepEqual(problems, []);
  });
});
