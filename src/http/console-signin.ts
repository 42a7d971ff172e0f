/**
 * `POST /_keyhold/console/signin`: the console's sign-in, unsigned (the caller has a password, not
 * an access key), under keyhold's own prefix beside the probes (no AWS API uses `/_keyhold/`).
 *
 * Request: JSON `{"account", "userName", "password", "durationSeconds"?, "newPassword"?}`, at most
 * MAX_SIGNIN_BODY bytes, checked before it is parsed. Answers, all JSON with `Cache-Control: no-store`:
 * - 200 `{"credentials": {accessKeyId, secretAccessKey, sessionToken, expiration}, "passwordResetRequired", "arn"}`;
 * - 401 `{"__type": "AuthenticationFailure", "message"}`: the same for every wrong account, user or password;
 * - 400 `{"__type": "ValidationException" | "PasswordPolicyViolation" | …, "message"}`: a malformed
 *   request, or a `newPassword` refused (the password was right);
 * - 429 `{"__type": "ThrottlingException"}` with Retry-After while the name or address is locked;
 * - 405, 415 and 413 for another method, another content type, a larger body.
 * Nothing of the request body is logged or recorded but the account and user name.
 */
import type { ConsoleSignIn, SignInRequest } from "../iam/signin.js";
import { MAX_SESSION_SECONDS, MIN_SESSION_SECONDS } from "../iam/signin.js";
import type { Reply } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";

export const SIGNIN_PATH = "/_keyhold/console/signin";
export const MAX_SIGNIN_BODY = 4096;

const ACCOUNT = /^\d{12}$/;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
/** IAM's passwordType: 1–128 characters of tab, newline, carriage return and U+0020–U+00FF. */
const PASSWORD = /^[\u0009\u000A\u000D\u0020-\u00FF]{1,128}$/;

function reply(status: number, body: unknown, extra: Record<string, string> = {}): Reply {
  const text = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache", ...extra },
    body: text,
  };
}

const invalid = (message: string) => reply(400, { __type: "ValidationException", message });

/** The request's members, checked (a password is named, never repeated), or the 400 to answer. */
function parse(body: Buffer): Omit<SignInRequest, "sourceIp" | "userAgent"> | Reply {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return invalid("The request body is not JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return invalid("The request body is not a JSON object.");
  const v = value as Record<string, unknown>;
  const { account, userName, password, newPassword, durationSeconds } = v;
  if (typeof account !== "string" || !ACCOUNT.test(account)) return invalid("account must be a 12-digit account id.");
  if (typeof userName !== "string" || !USER_NAME.test(userName)) {
    return invalid("userName must be 1-64 characters of letters, digits and +=,.@_-.");
  }
  if (typeof password !== "string" || !PASSWORD.test(password)) return invalid("password must be 1-128 characters.");
  if (newPassword !== undefined && (typeof newPassword !== "string" || !PASSWORD.test(newPassword))) {
    return invalid("newPassword must be 1-128 characters.");
  }
  if (
    durationSeconds !== undefined &&
    (typeof durationSeconds !== "number" ||
      !Number.isInteger(durationSeconds) ||
      durationSeconds < MIN_SESSION_SECONDS ||
      durationSeconds > MAX_SESSION_SECONDS)
  ) {
    return invalid(`durationSeconds must be an integer from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}.`);
  }
  return {
    account,
    userName,
    password,
    newPassword: newPassword as string | undefined,
    durationSeconds: durationSeconds as number | undefined,
  };
}

export async function answerSignIn(req: SignedRequest, signIn: ConsoleSignIn): Promise<Reply> {
  if (req.method !== "POST") return reply(405, { __type: "MethodNotAllowed", message: "Sign in with POST." }, { allow: "POST" });
  const type = req.headers["content-type"];
  if (typeof type !== "string" || !/^application\/json\s*(;|$)/i.test(type)) {
    return reply(415, { __type: "UnsupportedMediaType", message: "The request body must be application/json." });
  }
  if (req.body.length > MAX_SIGNIN_BODY) {
    return reply(413, { __type: "RequestEntityTooLargeException", message: `The request body exceeds ${MAX_SIGNIN_BODY} bytes.` });
  }
  const parsed = parse(req.body);
  if ("status" in parsed) return parsed;
  const agent = req.headers["user-agent"];
  const outcome = await signIn.signIn({
    ...parsed,
    sourceIp: req.sourceIp,
    userAgent: typeof agent === "string" ? agent.slice(0, 1024) : undefined,
  });
  const id = { "x-amzn-requestid": outcome.requestId };
  switch (outcome.kind) {
    case "success":
      return reply(200, { credentials: outcome.credentials, passwordResetRequired: outcome.passwordResetRequired, arn: outcome.arn }, id);
    case "failure":
      return reply(401, { __type: "AuthenticationFailure", message: outcome.message }, id);
    case "rejected":
      return reply(400, { __type: outcome.code, message: outcome.message }, id);
    case "throttled":
      return reply(
        429,
        { __type: "ThrottlingException", message: "Too many failed sign-in attempts; try again later." },
        { ...id, "retry-after": String(outcome.retryAfterSeconds) },
      );
  }
}
