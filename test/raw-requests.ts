/** Hand-built, SigV4-signed requests (signed by @smithy/signature-v4) for what no SDK sends. */
import { request } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from "./helpers.js";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): { __type?: string; message?: string } & Record<string, unknown>;
}

export interface SignOptions {
  target?: string;
  region?: string;
  service?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  signingDate?: Date;
  contentType?: string;
}

export async function signedRequest(url: string, body: string | Buffer, o: SignOptions = {}) {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: o.accessKeyId ?? ACCESS_KEY_ID, secretAccessKey: o.secretAccessKey ?? SECRET_ACCESS_KEY },
    region: o.region ?? "us-east-1",
    service: o.service ?? "kms",
    sha256: Hash.bind(null, "sha256"),
  });
  const headers: Record<string, string> = { host: u.host, "content-type": o.contentType ?? "application/x-amz-json-1.1" };
  if (o.target !== undefined) headers["x-amz-target"] = o.target;
  const signed = await signer.sign(
    { method: "POST", protocol: "http:", hostname: u.hostname, port: Number(u.port), path: "/", headers, body },
    { signingDate: o.signingDate },
  );
  return signed.headers as Record<string, string>;
}

export function send(url: string, headers: Record<string, string>, body: string | Buffer, method = "POST"): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: u.hostname, port: u.port, path: "/", method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Signs `body` for `target` and sends it unchanged. */
export async function call(url: string, target: string, body: string | Buffer, o: SignOptions = {}): Promise<RawResponse> {
  return send(url, await signedRequest(url, body, { ...o, target }), body);
}

/** A Query-protocol request (IAM, STS): the parameters form-encoded in the body, signed for `service`. */
export async function query(url: string, service: string, params: Record<string, string>, o: SignOptions = {}): Promise<RawResponse> {
  const body = new URLSearchParams(params).toString();
  const headers = await signedRequest(url, body, { ...o, service, contentType: "application/x-www-form-urlencoded; charset=utf-8" });
  return send(url, headers, body);
}
