/**
 * Rotation functions. AWS names a Lambda function by RotationLambdaARN; keyhold has no Lambda, so
 * the same ARN names either a built-in rotator (a reserved function name, README) or an HTTP
 * rotation service registered for the account with `keyhold rotation-function create`. keyhold
 * POSTs the event a Lambda would get, signed with the function's own HMAC key (docs/rotation.md).
 */
import { createHmac, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { ServiceError } from "../../errors.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { Repository } from "../../store/repository.js";

export const FUNCTION_KIND = "secretsmanager-rotation-function";
/** Built-in rotators, by their reserved function names. */
export const BUILT_IN = {
  postgresSingleUser: "keyhold-rotation-postgresql-single-user",
  postgresMultiUser: "keyhold-rotation-postgresql-multi-user",
  iamAccessKey: "keyhold-rotation-iam-access-key",
} as const;
export const RESERVED_PREFIX = "keyhold-";
/** Lambda's function name rule: letters, digits, hyphens and underscores, at most 64. */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const LAMBDA_ARN = /^arn:aws:lambda:([a-z0-9-]{1,32}):(\d{12}):function:([A-Za-z0-9_-]{1,64})$/;
/** How long keyhold waits for an HTTP rotation service to answer one step. */
export const STEP_TIMEOUT_MS = 30_000;
export const SIGNATURE_HEADER = "x-keyhold-signature";
export const TIMESTAMP_HEADER = "x-keyhold-timestamp";

export type RotationStep = "createSecret" | "setSecret" | "testSecret" | "finishSecret";
export const STEPS: readonly RotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/** The event a Lambda rotation function receives, byte for byte what keyhold POSTs. */
export interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: RotationStep;
}

export interface FunctionRef {
  region: string;
  accountId: string;
  name: string;
}

export interface RegisteredFunction {
  name: string;
  url: string;
  /** The HMAC key, wrapped by the key store (bound to the account and name). */
  wrappedKey: string;
  createdAt: number;
}

/** The parts of a RotationLambdaARN; InvalidParameterException when it is not a Lambda function ARN. */
export function parseFunctionArn(arn: string): FunctionRef {
  const m = LAMBDA_ARN.exec(arn);
  if (!m) {
    throw new ServiceError(
      "InvalidParameterException",
      "RotationLambdaARN must be a Lambda function ARN: arn:aws:lambda:<region>:<account>:function:<name>.",
    );
  }
  return { region: m[1]!, accountId: m[2]!, name: m[3]! };
}

export function functionArn(ref: FunctionRef): string {
  return `arn:aws:lambda:${ref.region}:${ref.accountId}:function:${ref.name}`;
}

export function isBuiltIn(name: string): boolean {
  return (Object.values(BUILT_IN) as string[]).includes(name);
}

function keyContext(accountId: string, name: string): string {
  return `rotation-function:${accountId}:${name}`;
}

/** Registered HTTP rotation services, per account (documents of their own kind). */
export class RotationFunctions {
  constructor(
    private readonly repo: Repository,
    private readonly keystore: KeyStore,
  ) {}

  /** Registers a function; answers its signing key (base64url), which is shown once and never again. */
  async create(accountId: string, name: string, url: string, now: number): Promise<string> {
    checkName(name);
    checkUrl(url);
    const key = randomBytes(32);
    try {
      const body: RegisteredFunction = {
        name,
        url,
        wrappedKey: this.keystore.wrap(key, keyContext(accountId, name)).toString("base64"),
        createdAt: now,
      };
      const created = await this.repo.putDocument(
        { kind: FUNCTION_KIND, accountId, name, body: JSON.stringify(body), revision: 1, createdAt: now },
        "new",
      );
      if (!created) throw new ServiceError("ResourceExistsException", `A rotation function named ${name} already exists.`);
      return key.toString("base64url");
    } finally {
      key.fill(0);
    }
  }

  async get(accountId: string, name: string): Promise<RegisteredFunction | undefined> {
    const doc = await this.repo.getDocument(FUNCTION_KIND, accountId, name);
    return doc && (JSON.parse(doc.body) as RegisteredFunction);
  }

  async list(accountId: string): Promise<RegisteredFunction[]> {
    const out: RegisteredFunction[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocuments(FUNCTION_KIND, accountId, "", after, 1000);
      for (const doc of page.items) out.push(JSON.parse(doc.body) as RegisteredFunction);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  async delete(accountId: string, name: string): Promise<boolean> {
    return this.repo.deleteDocument(FUNCTION_KIND, accountId, name);
  }

  /**
   * POSTs one step's event to the service. The signature is HMAC-SHA256 over
   * `<timestamp>.<body>` under the function's key; any answer but 2xx within the timeout fails the step.
   */
  async invoke(accountId: string, fn: RegisteredFunction, event: RotationEvent, now: number, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
    const body = JSON.stringify(event);
    const timestamp = String(Math.floor(now / 1000));
    const key = this.keystore.unwrap(Buffer.from(fn.wrappedKey, "base64"), keyContext(accountId, fn.name));
    let signature: string;
    try {
      signature = createHmac("sha256", key).update(`${timestamp}.${body}`).digest("hex");
    } finally {
      key.fill(0);
    }
    const url = new URL(fn.url);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    await new Promise<void>((resolve, reject) => {
      const req = send(
        url,
        {
          method: "POST",
          timeout: timeoutMs,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: `v1=${signature}`,
          },
        },
        (res) => {
          // The answer's body is not read into anything: a rotation service's output is not kept.
          res.resume();
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`rotation function ${fn.name} answered HTTP ${status} to ${event.Step}`));
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`rotation function ${fn.name} did not answer ${event.Step} within ${timeoutMs} ms`)));
      req.on("error", (e) => reject(new Error(`rotation function ${fn.name} could not be reached for ${event.Step}: ${e.message}`)));
      req.end(body);
    });
  }
}

export function checkName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new ServiceError("InvalidParameterException", "A rotation function name is 1 to 64 letters, digits, hyphens and underscores.");
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new ServiceError(
      "InvalidParameterException",
      `Function names starting with ${RESERVED_PREFIX} are reserved for keyhold's built-in rotators.`,
    );
  }
}

export function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ServiceError("InvalidParameterException", `'${url}' is not a URL.`);
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || url.length > 2048 || parsed.username || parsed.password) {
    throw new ServiceError(
      "InvalidParameterException",
      "A rotation function URL is http(s)://host[:port]/path, without credentials, at most 2048 characters.",
    );
  }
}
