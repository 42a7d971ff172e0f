import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT_ID, startTestServer, type TestServer } from "./helpers.js";
import { call, send, signedRequest, type RawResponse } from "./raw-requests.js";

function expectError(res: RawResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers["content-type"], "application/x-amz-json-1.1");
  const body = res.json();
  assert.equal(body.__type, code, res.body);
  assert.equal(typeof body.message, "string");
  assert.ok(!/\bat .*\.js:\d+/.test(res.body), "no stack trace on the wire");
  if (message) assert.match(body.message!, message);
}

describe("AWS JSON 1.1 protocol and SigV4, with hand-built requests", () => {
  let server: TestServer;
  let url: string;
  let keyId: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
    const res = await call(url, "TrentService.CreateKey", "{}");
    assert.equal(res.status, 200);
    keyId = (res.json().KeyMetadata as { KeyId: string }).KeyId;
  });
  after(() => server.stop());

  it("a correctly signed request succeeds with AWS's content type and a request id", async () => {
    const res = await call(url, "TrentService.DescribeKey", JSON.stringify({ KeyId: keyId }));
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/x-amz-json-1.1");
    assert.match(String(res.headers["x-amzn-requestid"]), /^[0-9a-f-]{36}$/);
    assert.equal((res.json().KeyMetadata as { KeyId: string }).KeyId, keyId);
  });

  it("no signature → MissingAuthenticationTokenException", async () => {
    const res = await send(url, { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" }, "{}");
    expectError(res, 400, "MissingAuthenticationTokenException");
  });

  it("unknown access key → UnrecognizedClientException", async () => {
    const res = await call(url, "TrentService.ListKeys", "{}", { accessKeyId: "AKIAUNKNOWNUNKNOWN00" });
    expectError(res, 400, "UnrecognizedClientException");
  });

  it("wrong secret, or a body changed after signing → InvalidSignatureException", async () => {
    expectError(await call(url, "TrentService.ListKeys", "{}", { secretAccessKey: "wrong-secret" }), 400, "InvalidSignatureException");
    const headers = await signedRequest(url, JSON.stringify({ Limit: 1 }), { target: "TrentService.ListKeys" });
    expectError(await send(url, headers, JSON.stringify({ Limit: 2 })), 400, "InvalidSignatureException");
    const retargeted = { ...headers, "x-amz-target": "TrentService.CreateKey" };
    expectError(await send(url, retargeted, JSON.stringify({ Limit: 1 })), 400, "InvalidSignatureException");
  });

  it("a timestamp more than 15 minutes off → InvalidSignatureException (signature expired)", async () => {
    for (const offset of [-16 * 60_000, 16 * 60_000]) {
      const res = await call(url, "TrentService.ListKeys", "{}", { signingDate: new Date(Date.now() + offset) });
      expectError(res, 400, "InvalidSignatureException", /Signature expired/);
    }
    const ok = await call(url, "TrentService.ListKeys", "{}", { signingDate: new Date(Date.now() - 14 * 60_000) });
    assert.equal(ok.status, 200);
  });

  it("a credential scoped to another service or a malformed Authorization header is refused", async () => {
    expectError(await call(url, "TrentService.ListKeys", "{}", { service: "s3" }), 400, "InvalidSignatureException", /service/);
    const headers = await signedRequest(url, "{}", { target: "TrentService.ListKeys" });
    expectError(await send(url, { ...headers, authorization: "AWS4-HMAC-SHA256 Credential=x" }, "{}"), 400, "IncompleteSignatureException");
    expectError(await send(url, { ...headers, authorization: "Basic dXNlcjpwYXNz" }, "{}"), 400, "IncompleteSignatureException");
  });

  it("unknown operations and services → UnknownOperationException; unserved KMS operations → UnsupportedOperationException", async () => {
    expectError(await call(url, "TrentService.StealKeys", "{}"), 400, "UnknownOperationException");
    expectError(await call(url, "NoSuchService.ListKeys", "{}"), 400, "UnknownOperationException");
    // An operation of the KMS API that keyhold does not serve says so, and why.
    expectError(await call(url, "TrentService.ReplicateKey", "{}"), 400, "UnsupportedOperationException", /Multi-Region keys/);
    expectError(await call(url, "TrentService.UpdatePrimaryRegion", "{}"), 400, "UnsupportedOperationException", /Multi-Region keys/);
    // Custom key stores are served (issue 20): a request without its required name is the caller's mistake.
    expectError(await call(url, "TrentService.CreateCustomKeyStore", "{}"), 400, "ValidationException");
    // Without X-Amz-Target a request is a Query request (IAM, STS); without an Action it names nothing.
    const headers = await signedRequest(url, "{}", {});
    const res = await send(url, headers, "{}");
    assert.equal(res.status, 400);
    assert.equal(res.headers["content-type"], "text/xml");
    assert.match(res.body, /<Code>InvalidAction<\/Code>/);
  });

  it("malformed bodies → SerializationException; wrong member types → SerializationException", async () => {
    expectError(await call(url, "TrentService.ListKeys", "{not json"), 400, "SerializationException");
    expectError(await call(url, "TrentService.ListKeys", "[1,2]"), 400, "SerializationException");
    expectError(await call(url, "TrentService.ListKeys", "null"), 400, "SerializationException");
    expectError(await call(url, "TrentService.DescribeKey", JSON.stringify({ KeyId: 5 })), 400, "SerializationException");
    expectError(await call(url, "TrentService.ListKeys", JSON.stringify({ Limit: "10" })), 400, "SerializationException");
    expectError(await call(url, "TrentService.ListKeys", JSON.stringify({ Limit: 1.5 })), 400, "SerializationException");
    expectError(
      await call(url, "TrentService.Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: "not base64!!" })),
      400,
      "SerializationException",
    );
    expectError(
      await call(url, "TrentService.Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: "aGk=", EncryptionContext: { a: 1 } })),
      400,
      "SerializationException",
    );
    expectError(
      await call(url, "TrentService.Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: "aGk=", EncryptionContext: ["a"] })),
      400,
      "SerializationException",
    );
    // Text that is not Unicode would be read as U+FFFD, so {"k": <0xFF>} and {"k": "\uFFFD"} would bind the same context.
    const encrypt = (context: string) => `{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"k":${context}}}`;
    const notUtf8 = Buffer.concat([Buffer.from(encrypt('"').slice(0, -2)), Buffer.from([0xff]), Buffer.from('"}}')]);
    expectError(await call(url, "TrentService.Encrypt", notUtf8), 400, "SerializationException", /UTF-8/);
    expectError(await call(url, "TrentService.Encrypt", encrypt('"\\ud83d"')), 400, "SerializationException", /surrogate/);
    expectError(await call(url, "TrentService.Encrypt", encrypt('"\\udc00x"')), 400, "SerializationException", /surrogate/);
    // A whole pair, escaped or not, is a character like any other.
    assert.equal((await call(url, "TrentService.Encrypt", encrypt('"\\ud83d\\ude00 ключ"'))).status, 200);
  });

  it("missing required members and out-of-bounds values → ValidationException naming each", async () => {
    expectError(
      await call(url, "TrentService.Encrypt", "{}"),
      400,
      "ValidationException",
      /2 validation errors detected: .*'keyId'.*must not be null.*'plaintext'/,
    );
    expectError(
      await call(url, "TrentService.CreateKey", JSON.stringify({ KeyUsage: "NOPE" })),
      400,
      "ValidationException",
      /enum value set/,
    );
    expectError(
      await call(url, "TrentService.DescribeKey", JSON.stringify({ KeyId: "" })),
      400,
      "ValidationException",
      /length greater than or equal to 1/,
    );
  });

  it("an oversized body is refused with 413 before it is read whole", async () => {
    const big = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(2 * 1024 * 1024).toString("base64") });
    const res = await call(url, "TrentService.Encrypt", big);
    assert.equal(res.status, 413);
    assert.equal(res.json().__type, "RequestEntityTooLargeException");
  });

  it("prototype keys are plain data: an encryption context named __proto__ binds like any other", async () => {
    const body = `{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"__proto__":"x","constructor":"y"}}`;
    const enc = await call(url, "TrentService.Encrypt", body);
    assert.equal(enc.status, 200, enc.body);
    const blob = enc.json().CiphertextBlob as string;
    const ok = await call(
      url,
      "TrentService.Decrypt",
      `{"CiphertextBlob":"${blob}","EncryptionContext":{"constructor":"y","__proto__":"x"}}`,
    );
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json().Plaintext, "aGk=");
    expectError(
      await call(url, "TrentService.Decrypt", `{"CiphertextBlob":"${blob}","EncryptionContext":{"constructor":"y"}}`),
      400,
      "InvalidCiphertextException",
    );
    // And it comes back as a key in a response: a grant constrained to that context lists it.
    const grant = await call(
      url,
      "TrentService.CreateGrant",
      `{"KeyId":"${keyId}","GranteePrincipal":"arn:aws:iam::${ACCOUNT_ID}:root","Operations":["Decrypt"],"Constraints":{"EncryptionContextEquals":{"__proto__":"x"}}}`,
    );
    assert.equal(grant.status, 200, grant.body);
    const listed = await call(url, "TrentService.ListGrants", `{"KeyId":"${keyId}"}`);
    assert.equal(listed.status, 200, listed.body);
    assert.match(listed.body, /"EncryptionContextEquals":\{"__proto__":"x"\}/);
    // A __proto__ member at the top level changes nothing.
    const polluted = await call(url, "TrentService.ListKeys", `{"__proto__":{"Limit":1},"Limit":2}`);
    assert.equal(polluted.status, 200);
    assert.equal(({} as Record<string, unknown>).Limit, undefined);
  });
});
