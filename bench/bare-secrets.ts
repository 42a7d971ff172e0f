/**
 * The ceiling keyhold's GetSecretValue is measured against: a bare node:http server holding the
 * secrets it is given (`--secret <name>=<value>`, each sealed at start) as keyhold holds them —
 * the value under its own data key with AES-256-GCM, the data key wrapped with AES-256-GCM under
 * a master key and bound to {SecretARN, SecretVersionId} — and for each request: read the body,
 * parse the JSON, look the secret up, unwrap the data key, open the value, zero the data key, and
 * answer GetSecretValue's JSON. No signature check, no validation, no authorization, no storage,
 * no audit.
 */
import { createServer } from "node:http";
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";

const masterKey = randomBytes(32);

interface Stored {
  arn: string;
  name: string;
  versionId: string;
  createdAt: number;
  /** base64(iv ‖ wrapped data key ‖ tag), AAD the encryption context. */
  wrappedKey: string;
  /** base64(iv ‖ value ‖ tag), AAD the ARN and version id. */
  sealed: string;
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12), { authTagLength: 16 });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

const contextOf = (arn: string, versionId: string) => Buffer.from(JSON.stringify({ SecretARN: arn, SecretVersionId: versionId }));
const aadOf = (arn: string, versionId: string) => Buffer.from(`keyhold-secret-v1\n${arn}\n${versionId}`);

const secrets = new Map<string, Stored>();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] !== "--secret") continue;
  const spec = args[++i] ?? "";
  const at = spec.indexOf("=");
  const name = spec.slice(0, at);
  const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
  const versionId = randomUUID();
  const dataKey = randomBytes(32);
  secrets.set(name, {
    arn,
    name,
    versionId,
    createdAt: Date.now(),
    wrappedKey: seal(masterKey, dataKey, contextOf(arn, versionId)).toString("base64"),
    sealed: seal(dataKey, Buffer.from(spec.slice(at + 1)), aadOf(arn, versionId)).toString("base64"),
  });
  dataKey.fill(0);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { SecretId?: string };
    const secret = secrets.get(body.SecretId ?? "");
    if (!secret) {
      res.writeHead(400, { "content-type": "application/x-amz-json-1.1" }).end('{"__type":"ResourceNotFoundException"}');
      return;
    }
    const dataKey = open(masterKey, Buffer.from(secret.wrappedKey, "base64"), contextOf(secret.arn, secret.versionId));
    const value = open(dataKey, Buffer.from(secret.sealed, "base64"), aadOf(secret.arn, secret.versionId));
    dataKey.fill(0);
    const payload = JSON.stringify({
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: value.toString("utf8"),
      VersionStages: ["AWSCURRENT"],
      CreatedDate: secret.createdAt / 1000,
    });
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`bare secrets listening on ${(server.address() as AddressInfo).port}\n`);
});
