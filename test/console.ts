/**
 * Browser harness for the web console: Debian's chromium driven by playwright-core (no downloaded
 * browser). When chromium is missing it is installed as root, as other tests install their tools;
 * otherwise the test is skipped, saying so, unless KEYHOLD_TEST_REQUIRE_ALL=1 makes that a failure.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { requireTool } from "./process.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Where the tests put their screenshots (committed: the README and docs/console.md show them). */
export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "docs", "console");

/** A headless chromium, or undefined (the test skipped) when there is none. */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM) && !requireTool(t, "chromium", "chromium")) return undefined;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: the suite runs as root in CI, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

export interface ConsolePage {
  page: Page;
  /** Content-Security-Policy violations and uncaught errors seen by the page. */
  problems: string[];
}

/** A new page (its own browser context: nothing shared with another user's) watching for CSP violations. */
export async function openConsole(browser: Browser, url: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${url}/console/`);
  return { page, problems };
}

/** Signs in with an access key pair and waits for the console's shell. */
export async function signInWithKeys(page: Page, accessKeyId: string, secretAccessKey: string): Promise<void> {
  await page.getByRole("tab", { name: "Access key" }).click();
  await page.getByLabel("Access key ID").fill(accessKeyId);
  await page.getByLabel("Secret access key").fill(secretAccessKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await signedIn(page);
}

/** Waits for the shell after a sign-in; throws the sign-in screen's error when it refused. */
export async function signedIn(page: Page): Promise<void> {
  const shell = page.getByRole("link", { name: "Customer managed keys", exact: true }).first();
  const refused = page.locator('[data-testid="error-alert"]');
  await shell.or(refused).first().waitFor();
  if (await refused.isVisible()) throw new Error(`sign-in refused: ${await refused.innerText()}`);
}

/**
 * Follows a link of the side navigation. The home page links to the same pages: the side
 * navigation's link is the first in the document (AppLayout puts the navigation before the content).
 */
export async function sideNavigation(page: Page, title: string): Promise<void> {
  await page.getByRole("link", { name: title, exact: true }).first().click();
}

/** Saves a screenshot under docs/console/ when KEYHOLD_SCREENSHOTS=1 (the tests then refresh the committed ones). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.KEYHOLD_SCREENSHOTS !== "1") return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
