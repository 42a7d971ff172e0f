/**
 * The web console's files (built by `npm run build` into dist/console), served at /console/ on the
 * main port. The console is a client like the CLI: every call it makes is a signed AWS API call;
 * what is served here is only its code, to anyone, unsigned and unaudited like the probes.
 *
 * Only an unsigned GET or HEAD is the console's: a signed request (an Authorization header, or a
 * presigned URL's X-Amz-* query) for /console/… is S3's, for a bucket named "console", as is any
 * other method and any request addressed to a virtual-hosted bucket. (An anonymous GET of a public
 * bucket named "console" is shadowed by the console.)
 *
 * Files are looked up in a table made from a listing of the directory, never by joining the
 * request's path onto it: no path, encoded or not, can name a file outside it, a dotfile or a
 * symbolic link. Only what scripts/build-console.mjs writes is listed: index.html and the files
 * under assets/. Whatever else is in the directory is not served: the root `tsc` writes the
 * console's data modules compiled for the tests into dist/console/src/ when it runs after the build.
 *
 * Every reply carries a Content-Security-Policy that allows only the console's own scripts and
 * styles (Cloudscape sets element styles through the CSSOM, which style-src does not govern; its
 * fonts and icons are data: URLs), calls to this origin only, and no framing.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { Reply } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";
import { virtualHostBucket } from "./rest-xml-protocol.js";

export const CONSOLE_PATH = "/console/";

/** dist/console, beside dist/src where this module is compiled. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".json", ".svg", ".txt"]);

/** Hashed file names (assets/main-3F2K1A.js) never change content: cached for a year. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/** Paths under /console/ that are at most this long; anything longer names no file of ours. */
const MAX_PATH = 512;

/** Whether a request is for the console's files rather than for S3. */
export function isConsoleRequest(req: Pick<SignedRequest, "method" | "rawPath" | "rawQuery" | "headers">): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (req.rawPath !== "/console" && !req.rawPath.startsWith(CONSOLE_PATH)) return false;
  if (req.headers.authorization !== undefined) return false;
  if (/(?:^|&)x-amz-(?:signature|credential|algorithm)=/i.test(req.rawQuery)) return false;
  const host = req.headers.host;
  return virtualHostBucket(typeof host === "string" ? host : undefined) === undefined;
}

interface ConsoleFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
  gzipped?: Buffer;
}

export class ConsoleFiles {
  private files: Map<string, ConsoleFile> | undefined;
  private listedAt = 0;

  constructor(
    private readonly root: string = DEFAULT_CONSOLE_DIR,
    private readonly now: () => number = Date.now,
  ) {}

  answer(req: Pick<SignedRequest, "method" | "rawPath" | "headers">): Reply {
    const head = req.method === "HEAD";
    if (req.rawPath === "/console") return plain(301, "Moved to /console/\n", head, { location: CONSOLE_PATH });
    const name = fileName(req.rawPath.slice(CONSOLE_PATH.length));
    if (name === undefined) return plain(404, "Not found\n", head);
    let file = this.lookup(name);
    // A file missing from the table may have been built since it was made: listed again, at most
    // every few seconds whatever is asked for.
    if (!file && this.now() - this.listedAt > 5_000) {
      this.files = undefined;
      file = this.lookup(name);
    }
    if (!file) return plain(404, this.files?.size ? "Not found\n" : "The console is not built: run `npm run build`.\n", head);
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      "content-type": file.type,
      "cache-control": file.cacheControl,
      etag: file.etag,
    };
    if (ifNoneMatch(req.headers["if-none-match"], file.etag)) return { status: 304, headers, body: Buffer.alloc(0), contentLength: 0 };
    let body = file.body;
    if (file.gzipped !== undefined || COMPRESSIBLE.has(extname(name))) {
      headers.vary = "Accept-Encoding";
      if (acceptsGzip(req.headers["accept-encoding"])) {
        file.gzipped ??= gzipSync(file.body);
        body = file.gzipped;
        headers["content-encoding"] = "gzip";
      }
    }
    return { status: 200, headers, body: head ? Buffer.alloc(0) : body, contentLength: body.length };
  }

  private lookup(name: string): ConsoleFile | undefined {
    if (!this.files) {
      this.files = listFiles(this.root);
      this.listedAt = this.now();
    }
    return this.files.get(name);
  }
}

/** The file a request path names: "" and "index.html" are the page; undefined if no file could be named so. */
function fileName(rawName: string): string | undefined {
  if (rawName.length > MAX_PATH) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    return undefined;
  }
  if (name === "") return "index.html";
  if (name.includes("\0") || name.includes("\\")) return undefined;
  if (name.split("/").some((part) => part === "" || part === "." || part === ".." || part.startsWith("."))) return undefined;
  return name;
}

/** The built console's files: index.html and what is under assets/ (see servedName). */
const SERVED_DIRECTORY = "assets";

/** Whether a file of the console's directory is the built console's: index.html or under assets/. */
function servedName(name: string): boolean {
  return name === "index.html" || name.startsWith(`${SERVED_DIRECTORY}/`);
}

/** Every regular file of the built console under root (servedName), by its path relative to root ('/'-separated). */
function listFiles(root: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (dir: string, prefix: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith(".")) continue;
      const path = join(dir, entry);
      const stat = lstatSync(path);
      const name = prefix + entry;
      if (stat.isDirectory()) {
        if (prefix !== "" || entry === SERVED_DIRECTORY) walk(path, `${name}/`);
      } else if (stat.isFile() && servedName(name)) {
        const body = readFileSync(path);
        files.set(name, {
          body,
          type: CONTENT_TYPES[extname(entry)] ?? "application/octet-stream",
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
          cacheControl: name.startsWith("assets/") ? IMMUTABLE : "no-cache",
        });
      }
    }
  };
  walk(root, "");
  return files;
}

function plain(status: number, text: string, head: boolean, extra: Record<string, string> = {}): Reply {
  const body = Buffer.from(text);
  return {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra },
    body: head ? Buffer.alloc(0) : body,
    contentLength: body.length,
  };
}

function ifNoneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (typeof header !== "string") return false;
  return header.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*");
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().split(";");
    if (coding?.trim().toLowerCase() !== "gzip") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
