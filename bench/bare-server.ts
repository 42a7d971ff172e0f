/**
 * The ceiling keyhold is measured against: a bare node:http server that reads the body, parses
 * the JSON, does one AES-256-GCM encryption of the `Plaintext` member and answers JSON. No
 * signature check, no validation, no storage, no audit.
 */
import { createServer } from "node:http";
import { createCipheriv, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

const key = randomBytes(32);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Plaintext?: string; CiphertextBlob?: string };
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const input = Buffer.from(body.Plaintext ?? body.CiphertextBlob ?? "", "base64");
    const out = Buffer.concat([iv, cipher.update(input), cipher.final(), cipher.getAuthTag()]);
    const payload = JSON.stringify({ CiphertextBlob: out.toString("base64") });
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`bare listening on ${(server.address() as AddressInfo).port}\n`);
});
