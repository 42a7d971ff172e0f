/**
 * The ceiling keyhold is measured against: a bare node:http server that reads the body, parses
 * the JSON and does the one node:crypto operation the request stands for — an AES-256-GCM
 * encryption, or for Sign an ECDSA P-256 / RSA-2048 signature, or for GenerateMac an HMAC — and
 * answers JSON. No signature check, no validation, no storage, no audit.
 */
import { createServer } from "node:http";
import { createCipheriv, createHmac, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import type { AddressInfo } from "node:net";

const key = randomBytes(32);
const ecKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
const rsaKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

type Body = { Plaintext?: string; CiphertextBlob?: string; Message?: string; SigningAlgorithm?: string };

function work(target: string, body: Body): Record<string, string> {
  if (target.endsWith(".Sign")) {
    const message = Buffer.from(body.Message ?? "", "base64");
    const privateKey = body.SigningAlgorithm?.startsWith("RSA") ? rsaKey : ecKey;
    return { Signature: sign("sha256", message, privateKey).toString("base64") };
  }
  if (target.endsWith(".GenerateMac")) {
    return {
      Mac: createHmac("sha256", key)
        .update(Buffer.from(body.Message ?? "", "base64"))
        .digest("base64"),
    };
  }
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const input = Buffer.from(body.Plaintext ?? body.CiphertextBlob ?? "", "base64");
  return { CiphertextBlob: Buffer.concat([iv, cipher.update(input), cipher.final(), cipher.getAuthTag()]).toString("base64") };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Body;
    const payload = JSON.stringify(work(String(req.headers["x-amz-target"] ?? ""), body));
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`bare listening on ${(server.address() as AddressInfo).port}\n`);
});
