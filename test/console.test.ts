/**
 * The web console's serving (/console/ on the main port: unsigned GET/HEAD only, strict headers,
 * no way out of dist/console) and a smoke test in Debian's chromium: sign in, see the keys, sign out.
 */
import { strict as assert } from "node:assert";
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConsoleFiles } from "../src/http/console.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { bytesOf, s3Client } from "./s3.js";
import { launchBrowser, openConsole, screenshot, sideNavigation, signInWithKeys } from "./console.js";

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request sent with its path exactly as given (fetch and URL would normalise "..", "%2e"). */
function raw(url: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: options.method ?? "GET", headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("console: serving", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test("/console redirects to /console/, which is the page, with a strict Content-Security-Policy", async () => {
    const redirect = await raw(server.url, "/console");
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, "/console/");

    const page = await raw(server.url, "/console/");
    assert.equal(page.status, 200);
    assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
    const csp = String(page.headers["content-security-policy"]);
    assert.match(csp, /(^|; )default-src 'self'(;|$)/);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.match(csp, /(^|; )style-src 'self'(;|$)/);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    assert.equal(page.headers["x-frame-options"], "DENY");
    assert.equal(page.headers["cache-control"], "no-cache");
    const html = page.body.toString();
    // No inline script or style: every <script> has a src, and there is no <style> element or style attribute.
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.ok(scripts.length >= 1);
    for (const s of scripts) assert.match(s, /\bsrc="assets\/[^"]+\.js"/);
    assert.doesNotMatch(html, /<style\b|\sstyle=/);
    assert.deepEqual((await raw(server.url, "/console/index.html")).body, page.body);
  });

  test("assets: their content types, cached for good (hashed names), gzip when asked, 304 on a matching ETag, HEAD without a body", async () => {
    const html = (await raw(server.url, "/console/")).body.toString();
    const js = /src="(assets\/[^"]+\.js)"/.exec(html)![1]!;
    const css = /href="(assets\/[^"]+\.css)"/.exec(html)![1]!;

    const script = await raw(server.url, `/console/${js}`);
    assert.equal(script.status, 200);
    assert.equal(script.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(script.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(script.headers["x-content-type-options"], "nosniff");
    assert.equal(script.headers["content-encoding"], undefined);
    const style = await raw(server.url, `/console/${css}`);
    assert.equal(style.status, 200);
    assert.equal(style.headers["content-type"], "text/css; charset=utf-8");

    const zipped = await raw(server.url, `/console/${js}`, { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(zipped.headers["content-encoding"], "gzip");
    assert.equal(zipped.headers.vary, "Accept-Encoding");
    assert.ok(zipped.body.length < script.body.length / 2);
    assert.deepEqual(gunzipSync(zipped.body), script.body);
    const notZipped = await raw(server.url, `/console/${js}`, { headers: { "accept-encoding": "gzip;q=0, identity" } });
    assert.equal(notZipped.headers["content-encoding"], undefined);

    const etag = String(script.headers.etag);
    const again = await raw(server.url, `/console/${js}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);

    const head = await raw(server.url, `/console/${js}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers["content-length"], String(script.body.length));
  });

  test("no path leaves dist/console: dot segments, encoded or not, backslashes, NUL, dotfiles and unknown names are 404", async () => {
    const attempts = [
      "/console/../package.json",
      "/console/../../package.json",
      "/console/%2e%2e/%2e%2e/package.json",
      "/console/%2E%2E%2F%2E%2E%2Fpackage.json",
      "/console/assets/..%2f..%2f..%2fpackage.json",
      "/console/assets/%2e%2e/index.html",
      "/console/./index.html",
      "/console/assets//x.js",
      "/console/..%5c..%5cpackage.json",
      "/console/index.html%00.js",
      "/console/%c0%ae%c0%ae/package.json",
      "/console/%",
      "/console/.git/config",
      "/console/assets/",
      "/console/assets",
      "/console/nothing-here.js",
      `/console/${"a/".repeat(400)}x`,
    ];
    for (const path of attempts) {
      const reply = await raw(server.url, path);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.headers["content-type"], "text/plain; charset=utf-8", path);
      assert.doesNotMatch(reply.body.toString(), /"name": "keyhold"|<html/, path);
    }
  });

  test("a signed request for /console/… is S3's (a bucket named console); other methods unsigned are not the console's", async () => {
    const s3 = s3Client(server.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "console" }));
      await s3.send(new PutObjectCommand({ Bucket: "console", Key: "index.html", Body: "an object, not the console" }));
      const got = await s3.send(new GetObjectCommand({ Bucket: "console", Key: "index.html" }));
      assert.equal((await bytesOf(got.Body)).toString(), "an object, not the console");
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "console" }));
      assert.deepEqual(
        listed.Contents?.map((o) => o.Key),
        ["index.html"],
      );
    } finally {
      s3.destroy();
    }
    // The unsigned GET is still the console's page, not the object.
    assert.match((await raw(server.url, "/console/index.html")).body.toString(), /<div id="root">/);
    // An unsigned PUT goes to S3, which refuses it: no write through the console's path.
    const put = await raw(server.url, "/console/index.html", { method: "PUT" });
    assert.equal(put.status, 403);
    assert.equal(put.headers["content-security-policy"], undefined);
  });
});

describe("console: only the built console is served", () => {
  test("index.html and assets/ are; dist/console/src/… (what the root tsc writes), other files and symbolic links are not", () => {
    const root = tempDir("keyhold-console-");
    mkdirSync(join(root, "assets", "fonts"), { recursive: true });
    mkdirSync(join(root, "src", "data"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<!doctype html><div id=root></div>");
    writeFileSync(join(root, "assets", "main-ABC.js"), "export {};");
    writeFileSync(join(root, "assets", "fonts", "f-1.woff2"), "font");
    writeFileSync(join(root, "src", "data", "index.js"), "export * from './clients.js';");
    writeFileSync(join(root, "src", "data", "index.js.map"), "{}");
    writeFileSync(join(root, "notes.txt"), "not built by the console build");
    writeFileSync(join(root, "main-ABC.js"), "export {};");
    symlinkSync(join(root, "src"), join(root, "assets", "src"));
    const files = new ConsoleFiles(root);
    const get = (path: string) => files.answer({ method: "GET", rawPath: path, headers: {} });
    assert.equal(get("/console/").status, 200);
    assert.equal(get("/console/index.html").status, 200);
    assert.equal(get("/console/assets/main-ABC.js").status, 200);
    assert.equal(get("/console/assets/fonts/f-1.woff2").status, 200);
    for (const path of [
      "/console/src/data/index.js",
      "/console/src/data/index.js.map",
      "/console/notes.txt",
      "/console/main-ABC.js",
      "/console/assets/src/data/index.js",
    ]) {
      const reply = get(path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.body.toString(), /export/, path);
    }
    rmSync(root, { recursive: true, force: true });
  });

  test("on a running keyhold: /console/src/… is 404 whether or not tsc wrote it after the build", async () => {
    const server = await startTestServer();
    try {
      for (const path of ["/console/src/data/index.js", "/console/src/data/clients.js", "/console/src/data/index.js.map"]) {
        const reply = await raw(server.url, path);
        assert.equal(reply.status, 404, path);
        assert.equal(reply.headers["content-type"], "text/plain; charset=utf-8", path);
      }
    } finally {
      await server.stop();
    }
  });
});

describe("console: in chromium", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test("sign in with an access key, see a key in the list and its page, sign out: no CSP violation on the way", async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    try {
      const kms = server.client();
      const created = await kms.send(new CreateKeyCommand({ Description: '<img src=x onerror="window.__pwned=1">' }));
      const keyId = created.KeyMetadata!.KeyId!;

      const { page, problems } = await openConsole(browser, server.url);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await screenshot(page, "sign-in");
      // A wrong secret: STS's refusal, in AWS's words, on the sign-in screen.
      await page.getByRole("tab", { name: "Access key" }).click();
      await page.getByLabel("Access key ID").fill(ACCESS_KEY_ID);
      await page.getByLabel("Secret access key").fill("wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator('[data-testid="error-alert"]').getByText("SignatureDoesNotMatch").waitFor();

      await signInWithKeys(page, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
      await sideNavigation(page, "Customer managed keys");
      const link = page.getByRole("link", { name: keyId });
      await link.waitFor();
      // The description is shown as text: the markup in it is not interpreted.
      await page.getByText('<img src=x onerror="window.__pwned=1">').waitFor();
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      await screenshot(page, "keys");

      await link.click();
      await page.getByRole("tab", { name: "Dependencies" }).click();
      await page.locator('[data-testid="key-dependencies"]').waitFor();

      await page.getByRole("button", { name: "root" }).click();
      await page.getByRole("menuitem", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      // Nothing of the session stays in the browser's storage.
      const stored = await page.evaluate(() =>
        JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }),
      );
      assert.doesNotMatch(stored, new RegExp(SECRET_ACCESS_KEY.replace(/[/]/g, "\\/")));
      assert.doesNotMatch(stored, new RegExp(ACCESS_KEY_ID));
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
