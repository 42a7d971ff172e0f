/**
 * The OCSP responder (src/acmpca/ocsp.ts) and its HTTP route (src/http/ocsp-route.ts), against a
 * CA made in the test, with the `openssl ocsp` command line as the independent judge: it builds
 * the requests, sends them, checks the response's signature against the CA (the delegated
 * responder certificate must chain to it and carry OCSPSigning) and its nonce, and prints the
 * statuses.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Server } from "node:http";
import { promisify } from "node:util";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { Extension } from "@peculiar/asn1-x509";
import { BasicOCSPResponse, id_pkix_ocsp_nonce, OCSPRequest, OCSPResponse, OCSPResponseStatus, Request } from "@peculiar/asn1-ocsp";
import { answerOcsp, answerOcspRequest, MAX_OCSP_CERT_IDS, MAX_OCSP_REQUEST_BYTES, serialToHex } from "../src/acmpca/ocsp.js";
import { createHttpServer } from "../src/http/server.js";
import { isOcspRequest, ocspHandler } from "../src/http/ocsp-route.js";
import type { AnsweredCall } from "../src/http/dispatch.js";
import { requestLogEntry } from "../src/http/request-log.js";
import { makeFixtureCa, type FixtureCa } from "./ocsp-fixture.js";
import { tempDir } from "./helpers.js";
import { requireTool } from "./process.js";

const run = promisify(execFile);
const CA_ID = "0f8a3c1e-5b7d-4e29-9c61-2d4f8b0a7e13";
const RSA_CA_ID = "6b1d2e4f-8a9c-4b3d-a1e5-7f0c9d2b4a68";
const OTHER_CA_ID = "c4e8f1a2-3b5d-4c6e-8f9a-0b1c2d3e4f50";

/** Runs openssl (asynchronously: the server answering it is in this process) and returns what it printed. */
async function openssl(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("openssl", args, { encoding: "utf8" });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, out: (e.stdout ?? "") + (e.stderr ?? "") };
  }
}

/** A time as `openssl ocsp -resp_text` prints it: "Dec  7 11:00:00 2026 GMT". */
function opensslTime(ms: number): string {
  const d = new Date(ms);
  const month = d.toUTCString().slice(8, 11);
  const time = d.toISOString().slice(11, 19);
  return `${month} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()} GMT`;
}

function responseStatus(der: Buffer): OCSPResponseStatus {
  return AsnConvert.parse(der, OCSPResponse).responseStatus;
}

function basicOf(der: Buffer): BasicOCSPResponse {
  const response = AsnConvert.parse(der, OCSPResponse);
  assert.equal(response.responseStatus, OCSPResponseStatus.successful);
  return AsnConvert.parse(response.responseBytes!.response.buffer, BasicOCSPResponse);
}

describe("OCSP responder", () => {
  const dir = tempDir("keyhold-ocsp-");
  let ca: FixtureCa;
  let rsaCa: FixtureCa;
  let other: FixtureCa;
  let server: Server;
  let base: string;
  const answered: AnsweredCall[] = [];
  const errors: string[] = [];
  /** The responder's clock: the real one unless a test fixes it (to a time near the real one: openssl checks freshness). */
  let fixedNow: number | undefined;

  before(async () => {
    ca = await makeFixtureCa(dir, CA_ID, "ec");
    rsaCa = await makeFixtureCa(dir, RSA_CA_ID, "rsa", "CN=keyhold OCSP test RSA CA");
    other = await makeFixtureCa(dir, OTHER_CA_ID, "ec", "CN=another CA");
    await ca.leaf("good", "5a01");
    // The top bit is set: the DER INTEGER has a leading zero octet, which the CA's serial does not.
    await ca.leaf("revoked", "f00d01");
    await ca.leaf("stranger", "7777");
    await rsaCa.leaf("good", "0123456789abcdef");
    await other.leaf("foreign", "5a01");
    ca.statuses.set("5a01", { status: "good" });
    ca.statuses.set("f00d01", { status: "revoked", revokedAt: new Date("2026-11-03T10:20:30.456Z"), reason: "KEY_COMPROMISE" });
    rsaCa.statuses.set("0123456789abcdef", { status: "good" });
    other.statuses.set("5a01", { status: "good" });
    const sources = new Map([ca, rsaCa, other].map((c) => [c.id, c.source]));
    const handler = ocspHandler({
      source: {
        authority: (id) => sources.get(id)?.authority(id) ?? Promise.resolve(undefined),
        status: (id, serial) => sources.get(id)!.status(id, serial),
        responder: (id) => sources.get(id)!.responder(id),
      },
      now: () => fixedNow ?? Date.now(),
      logError: (m) => errors.push(m),
      answered: (call) => answered.push(call),
    });
    server = createHttpServer(async (req) =>
      isOcspRequest(req) ? handler(req) : { status: 404, headers: { "content-type": "text/plain" }, body: Buffer.from("no") },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_keyhold/ocsp`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** `openssl ocsp` against the responder over HTTP (POST, with a nonce), the response verified against the CA. */
  async function ask(t: TestContext, fixture: FixtureCa, leaf: string, extra: string[] = []): Promise<string | undefined> {
    if (!requireTool(t, "openssl", "openssl")) return undefined;
    // openssl takes the CertID's digest only before -cert.
    const { code, out } = await openssl(
      "ocsp",
      ...extra,
      "-issuer",
      fixture.files.ca!,
      "-cert",
      fixture.files[leaf]!,
      "-url",
      `${base}/${fixture.id}`,
      "-CAfile",
      fixture.files.ca!,
      "-resp_text",
    );
    assert.equal(code, 0, out);
    assert.match(out, /Response verify OK/);
    // openssl warns when the response's nonce is missing or differs from the request's.
    assert.doesNotMatch(out, /WARNING|nonce verify error/i);
    return out;
  }

  it("answers good, signed by the delegated responder, with the nonce echoed and thisUpdate/nextUpdate", async (t) => {
    const second = Math.floor(Date.now() / 1000) * 1000;
    fixedNow = second + 789;
    try {
      const out = await ask(t, ca, "good");
      if (out === undefined) return;
      assert.match(out, /OCSP Response Status: successful \(0x0\)/);
      assert.match(out, /good\.pem: good/);
      assert.match(out, /Responder Id: [0-9A-F]{40}/);
      assert.match(out, /OCSP Nonce:/);
      // In whole seconds; fresh for an hour.
      assert.ok(out.includes(`This Update: ${opensslTime(second)}`), out);
      assert.ok(out.includes(`Next Update: ${opensslTime(second + 3600_000)}`), out);
      assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(out, /Subject: CN ?= ?keyhold OCSP responder/);
      assert.deepEqual(ca.asked.at(-1), "5a01");
    } finally {
      fixedNow = undefined;
    }
  });

  it("answers revoked with the revocation time and the reason", async (t) => {
    const out = await ask(t, ca, "revoked");
    if (out === undefined) return;
    assert.match(out, /revoked\.pem: revoked/);
    assert.match(out, /Reason: keyCompromise/);
    assert.match(out, /Revocation Time: Nov {2}3 10:20:30 2026 GMT/);
    // The serial as the CA names it: no leading zero octet.
    assert.equal(ca.asked.at(-1), "f00d01");
  });

  it("answers unknown for a serial the CA never issued", async (t) => {
    const out = await ask(t, ca, "stranger");
    if (out === undefined) return;
    assert.match(out, /stranger\.pem: unknown/);
  });

  it("matches CertIDs hashed with SHA-256 as well as SHA-1", async (t) => {
    const out = await ask(t, ca, "good", ["-sha256"]);
    if (out === undefined) return;
    assert.match(out, /Hash Algorithm: sha256/);
    assert.match(out, /good\.pem: good/);
  });

  it("signs with RSA (sha256WithRSAEncryption, NULL parameters) for an RSA CA", async (t) => {
    const out = await ask(t, rsaCa, "good");
    if (out === undefined) return;
    assert.match(out, /good\.pem: good/);
    assert.match(out, /Signature Algorithm: sha256WithRSAEncryption/);
    const der = await opensslRequest(t, rsaCa, "good");
    const basic = basicOf(await answerOcsp(der!, rsaCa.source, rsaCa.id, new Date()));
    assert.equal(basic.signatureAlgorithm.algorithm, "1.2.840.113549.1.1.11");
    // NULL parameters parse as null (absent ones as undefined, as for ECDSA).
    assert.strictEqual(basic.signatureAlgorithm.parameters, null);
    const ec = basicOf(await answerOcsp((await opensslRequest(t, ca, "good"))!, ca.source, ca.id, new Date()));
    assert.strictEqual(ec.signatureAlgorithm.parameters, undefined);
  });

  it("answers several CertIDs in one request, each in order", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const { code, out } = await openssl(
      "ocsp",
      "-issuer",
      ca.files.ca!,
      "-cert",
      ca.files.revoked!,
      "-cert",
      ca.files.good!,
      "-cert",
      ca.files.stranger!,
      "-url",
      `${base}/${ca.id}`,
      "-CAfile",
      ca.files.ca!,
    );
    assert.equal(code, 0, out);
    assert.match(out, /revoked\.pem: revoked[\s\S]*good\.pem: good[\s\S]*stranger\.pem: unknown/);
  });

  /** A request made by openssl (to a file, not sent), parsed. */
  async function opensslRequest(t: TestContext, fixture: FixtureCa, leaf: string, nonce = false): Promise<Buffer | undefined> {
    if (!requireTool(t, "openssl", "openssl")) return undefined;
    const file = join(dir, `req-${fixture.id}-${leaf}-${nonce}.der`);
    const { code, out } = await openssl(
      "ocsp",
      "-issuer",
      fixture.files.ca!,
      "-cert",
      fixture.files[leaf]!,
      nonce ? "-nonce" : "-no_nonce",
      "-reqout",
      file,
    );
    assert.equal(code, 0, out);
    return readFileSync(file);
  }

  async function verifyResponse(fixture: FixtureCa, leaf: string, response: Buffer): Promise<string> {
    const file = join(dir, `resp-${Math.random().toString(36).slice(2)}.der`);
    writeFileSync(file, response);
    const { code, out } = await openssl(
      "ocsp",
      "-respin",
      file,
      "-issuer",
      fixture.files.ca!,
      "-cert",
      fixture.files[leaf]!,
      "-CAfile",
      fixture.files.ca!,
      "-resp_text",
    );
    assert.equal(code, 0, out);
    assert.match(out, /Response verify OK/);
    return out;
  }

  it("answers GET with the request base64 then percent-encoded, or in base64url, and lets caches keep it until nextUpdate", async (t) => {
    const der = await opensslRequest(t, ca, "revoked");
    if (der === undefined) return;
    const second = Math.floor(Date.now() / 1000) * 1000;
    fixedNow = second;
    try {
      for (const encoded of [encodeURIComponent(der.toString("base64")), der.toString("base64url")]) {
        const res = await fetch(`${base}/${ca.id}/${encoded}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/ocsp-response");
        assert.equal(res.headers.get("cache-control"), "max-age=3600, public, no-transform, must-revalidate");
        assert.equal(res.headers.get("expires"), new Date(second + 3600_000).toUTCString());
        const out = await verifyResponse(ca, "revoked", Buffer.from(await res.arrayBuffer()));
        assert.match(out, /revoked\.pem: revoked/);
        assert.match(out, /Reason: keyCompromise/);
      }
      // Unencoded base64, any '/' or '+' in it as it is: the rest of the path is the request.
      const plain = der.toString("base64");
      const res = await fetch(`${base}/${ca.id}/${plain}`);
      await verifyResponse(ca, "revoked", Buffer.from(await res.arrayBuffer()));
    } finally {
      fixedNow = undefined;
    }
  });

  it("does not let a response that echoes a nonce be cached", async (t) => {
    const der = await opensslRequest(t, ca, "good", true);
    if (der === undefined) return;
    const res = await fetch(`${base}/${ca.id}`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: new Uint8Array(der),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const basic = basicOf(Buffer.from(await res.arrayBuffer()));
    const requested = AsnConvert.parse(der, OCSPRequest).tbsRequest.requestExtensions!.find((e) => e.extnID === id_pkix_ocsp_nonce)!;
    const echoed = basic.tbsResponseData.responseExtensions!.find((e) => e.extnID === id_pkix_ocsp_nonce)!;
    assert.deepEqual(Buffer.from(echoed.extnValue.buffer), Buffer.from(requested.extnValue.buffer));
  });

  it("answers malformedRequest for bytes that are no OCSP request, trailing bytes, and an empty GET", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    if (good === undefined) return;
    const asked = ca.asked.length;
    for (const body of [
      Buffer.from("not an OCSP request"),
      Buffer.alloc(0),
      Buffer.concat([good, Buffer.from([0])]),
      good.subarray(0, good.length - 1),
    ]) {
      assert.equal(responseStatus(await answerOcsp(body, ca.source, ca.id, new Date())), OCSPResponseStatus.malformedRequest);
    }
    // Every prefix of a valid request, and every single-byte change of its first bytes (tags and lengths), is answered cleanly.
    for (let n = 0; n < good.length; n++) {
      assert.equal(
        responseStatus(await answerOcsp(good.subarray(0, n), ca.source, ca.id, new Date())),
        OCSPResponseStatus.malformedRequest,
        `prefix ${n}`,
      );
    }
    for (let i = 0; i < Math.min(good.length, 12); i++) {
      const changed = Buffer.from(good);
      changed[i] = changed[i]! ^ 0x41;
      const status = responseStatus(await answerOcsp(changed, ca.source, ca.id, new Date()));
      assert.ok([OCSPResponseStatus.malformedRequest, OCSPResponseStatus.unauthorized].includes(status), `byte ${i}: ${status}`);
    }
    // The same through openssl's eyes, over HTTP.
    const res = await fetch(`${base}/${ca.id}`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: "garbage",
    });
    const file = join(dir, "malformed.der");
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const { out } = await openssl("ocsp", "-respin", file, "-resp_text", "-noverify");
    assert.match(out, /Responder Error: malformedrequest \(1\)/);
    for (const path of [`${base}/${ca.id}/`, `${base}/${ca.id}/not*base64`, `${base}/${ca.id}/%zz`]) {
      const r = await fetch(path);
      assert.equal(r.status, 200);
      assert.equal(responseStatus(Buffer.from(await r.arrayBuffer())), OCSPResponseStatus.malformedRequest, path);
    }
    assert.equal(ca.asked.length, asked, "nothing was looked up");
  });

  it("refuses a request over the size bound before parsing it", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    if (good === undefined) return;
    // A well-formed request made large by a big requestorName-free extension: still refused for its size.
    const request = AsnConvert.parse(good, OCSPRequest);
    request.tbsRequest.requestExtensions = [
      new Extension({ extnID: "1.2.3.4", extnValue: new OctetString(Buffer.alloc(MAX_OCSP_REQUEST_BYTES)) }),
    ];
    const big = Buffer.from(AsnConvert.serialize(request));
    assert.ok(big.length > MAX_OCSP_REQUEST_BYTES);
    const asked = ca.asked.length;
    assert.equal(responseStatus(await answerOcsp(big, ca.source, ca.id, new Date())), OCSPResponseStatus.malformedRequest);
    const res = await fetch(`${base}/${ca.id}`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: new Uint8Array(big),
    });
    assert.equal(responseStatus(Buffer.from(await res.arrayBuffer())), OCSPResponseStatus.malformedRequest);
    assert.equal(ca.asked.length, asked);
    // Just under the bound, the same extension is ignored (non-critical, unknown) and the request answered.
    request.tbsRequest.requestExtensions = [new Extension({ extnID: "1.2.3.4", extnValue: new OctetString(Buffer.alloc(1000)) })];
    const fits = Buffer.from(AsnConvert.serialize(request));
    assert.equal(responseStatus(await answerOcsp(fits, ca.source, ca.id, new Date())), OCSPResponseStatus.successful);
  });

  it("bounds the CertIDs of a request and the length of its nonce", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    if (good === undefined) return;
    const request = AsnConvert.parse(good, OCSPRequest);
    const one = request.tbsRequest.requestList[0]!;
    const withList = (n: number) => {
      request.tbsRequest.requestList = Array.from({ length: n }, () => new Request({ reqCert: one.reqCert }));
      return Buffer.from(AsnConvert.serialize(request));
    };
    assert.equal(
      responseStatus(await answerOcsp(withList(MAX_OCSP_CERT_IDS), ca.source, ca.id, new Date())),
      OCSPResponseStatus.successful,
    );
    assert.equal(
      responseStatus(await answerOcsp(withList(MAX_OCSP_CERT_IDS + 1), ca.source, ca.id, new Date())),
      OCSPResponseStatus.malformedRequest,
    );
    assert.equal(responseStatus(await answerOcsp(withList(0), ca.source, ca.id, new Date())), OCSPResponseStatus.malformedRequest);
    request.tbsRequest.requestList = [one];
    const withNonce = (n: number) => {
      const nonce = new OctetString(Buffer.alloc(n, 7));
      request.tbsRequest.requestExtensions = [
        new Extension({ extnID: id_pkix_ocsp_nonce, extnValue: new OctetString(AsnConvert.serialize(nonce)) }),
      ];
      return Buffer.from(AsnConvert.serialize(request));
    };
    for (const [n, expected] of [
      [0, OCSPResponseStatus.malformedRequest],
      [1, OCSPResponseStatus.successful],
      [128, OCSPResponseStatus.successful],
      [129, OCSPResponseStatus.malformedRequest],
    ] as const) {
      assert.equal(responseStatus(await answerOcsp(withNonce(n), ca.source, ca.id, new Date())), expected, `nonce of ${n} octets`);
    }
  });

  it("answers unauthorized for an unknown CA, a CA without OCSP or without a certificate, and a CertID of another issuer", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    const foreign = await opensslRequest(t, other, "foreign");
    if (good === undefined || foreign === undefined) return;
    const status = async (der: Buffer, id = ca.id) => responseStatus(await answerOcsp(der, ca.source, id, new Date()));
    assert.equal(await status(good, OTHER_CA_ID), OCSPResponseStatus.unauthorized);
    assert.equal(await status(foreign), OCSPResponseStatus.unauthorized);
    try {
      ca.authority.ocspEnabled = false;
      assert.equal(await status(good), OCSPResponseStatus.unauthorized);
      ca.authority.ocspEnabled = true;
      for (const state of ["CREATING", "PENDING_CERTIFICATE", "FAILED", "DELETED"]) {
        ca.authority.status = state;
        assert.equal(await status(good), OCSPResponseStatus.unauthorized, state);
      }
      for (const state of ["ACTIVE", "DISABLED", "EXPIRED"]) {
        ca.authority.status = state;
        assert.equal(await status(good), OCSPResponseStatus.successful, state);
      }
    } finally {
      ca.authority.ocspEnabled = true;
      ca.authority.status = "ACTIVE";
    }
    // Over HTTP: a CA id that exists nowhere, and one of a form no CA id has.
    for (const id of ["00000000-0000-4000-8000-000000000000", "not..a..ca", "x%20y"]) {
      const res: Response = await fetch(`${base}/${id}`, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: new Uint8Array(good),
      });
      assert.equal(responseStatus(Buffer.from(await res.arrayBuffer())), OCSPResponseStatus.unauthorized, id);
    }
    // One CertID of this CA and one of another: the other is unknown (RFC 6960 §2.2).
    const mixed = AsnConvert.parse(good, OCSPRequest);
    mixed.tbsRequest.requestList.push(AsnConvert.parse(foreign, OCSPRequest).tbsRequest.requestList[0]!);
    const basic = basicOf(await answerOcsp(Buffer.from(AsnConvert.serialize(mixed)), ca.source, ca.id, new Date()));
    assert.deepEqual(
      basic.tbsResponseData.responses.map((r) =>
        r.certStatus.good === null ? "good" : r.certStatus.unknown === null ? "unknown" : "revoked",
      ),
      ["good", "unknown"],
    );
  });

  it("answers tryLater when the store fails, and says why only in the server's log", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    if (good === undefined) return;
    ca.failWith = new Error("database is locked");
    try {
      const told: unknown[] = [];
      const answer = await answerOcspRequest(good, ca.source, ca.id, new Date(), { onError: (e) => told.push(e) });
      assert.equal(answer.status, "tryLater");
      assert.equal(responseStatus(answer.der), OCSPResponseStatus.tryLater);
      assert.equal(answer.der.includes(Buffer.from("database")), false);
      assert.equal((told[0] as Error).message, "database is locked");
      const res = await fetch(`${base}/${ca.id}`, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: new Uint8Array(good),
      });
      assert.equal(responseStatus(Buffer.from(await res.arrayBuffer())), OCSPResponseStatus.tryLater);
      assert.match(errors.at(-1)!, /answered tryLater: Error: database is locked/);
    } finally {
      ca.failWith = undefined;
    }
  });

  it("refuses other methods and POST bodies of another type; logs and counts each request", async (t) => {
    const good = await opensslRequest(t, ca, "good");
    if (good === undefined) return;
    const put = await fetch(`${base}/${ca.id}`, { method: "PUT", body: new Uint8Array(good) });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, POST");
    const form = await fetch(`${base}/${ca.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new Uint8Array(good),
    });
    assert.equal(form.status, 415);
    answered.length = 0;
    const res = await fetch(`${base}/${ca.id}`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: new Uint8Array(good),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(answered.length, 1);
    const line = requestLogEntry(answered[0]!);
    assert.equal(line.service, "ocsp");
    assert.equal(line.operation, "successful");
    assert.equal(line.status, 200);
    assert.equal(line.bytesIn, good.length);
    assert.ok(line.bytesOut > 0);
  });

  it("names serials as the CA does: lower-case hex without leading zero octets; negative or over-long ones are none", () => {
    assert.equal(serialToHex(Buffer.from("00f00d01", "hex")), "f00d01");
    assert.equal(serialToHex(Buffer.from("5A01", "hex")), "5a01");
    assert.equal(serialToHex(Buffer.from("00", "hex")), "00");
    assert.equal(serialToHex(Buffer.from("80", "hex")), undefined);
    assert.equal(serialToHex(Buffer.alloc(0)), undefined);
    assert.equal(serialToHex(Buffer.concat([Buffer.from([0]), Buffer.alloc(20, 0x7f)])), "7f".repeat(20));
    assert.equal(serialToHex(Buffer.alloc(21, 0x7f)), undefined);
  });
});
