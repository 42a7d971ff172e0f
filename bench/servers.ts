/** What the benchmarks share: starting a server process, and pre-signed request bytes. */
import { spawn, type ChildProcess } from "node:child_process";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";

export const ACCESS_KEY_ID = "AKIABENCHKEYHOLD0001";
export const SECRET = "bench/secret/keyhold/000000000000000000000";

export function start(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
}

export interface BenchCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export async function signedBytes(
  port: number,
  target: string,
  body: string,
  credentials: BenchCredentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
): Promise<Buffer> {
  const signer = new SignatureV4({
    credentials,
    region: "us-east-1",
    service: "kms",
    sha256: Hash.bind(null, "sha256"),
  });
  const host = `127.0.0.1:${port}`;
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: "127.0.0.1",
    port,
    path: "/",
    headers: { host, "content-type": "application/x-amz-json-1.1", "x-amz-target": `TrentService.${target}` },
    body,
  });
  const headers = Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(
    `POST / HTTP/1.1\r\n${headers.join("\r\n")}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`,
  );
}
