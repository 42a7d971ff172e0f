/**
 * keyhold's built-in rotators, the steps AWS's rotation templates take, run in process:
 * PostgreSQL single user and alternating users (SecretsManagerRDSPostgreSQLRotationSingleUser /
 * MultiUser, with AWS's RDS secret JSON: engine, host, port, username, password, dbname and, for
 * alternating users, masterarn), and keyhold's own IAM access keys. Each reads and writes the
 * secret through the same Secrets Manager operations a Lambda would call (SecretAccess).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import pg from "pg";
import { ServiceError } from "../../errors.js";
import { generateAccessKeyId, generateSecretAccessKey, type Credentials } from "../../iam/credentials.js";
import type { Repository } from "../../store/repository.js";
import { CURRENT, PENDING, PREVIOUS } from "../service.js";
import { BUILT_IN, type RotationStep } from "./functions.js";

/** What a rotator may do with the secret it rotates: what a Lambda does with GetSecretValue, PutSecretValue and UpdateSecretVersionStage. */
export interface SecretAccess {
  arn: string;
  /** The value with `stage` (and `versionId`, when given); undefined when there is none. */
  get(stage: string, versionId?: string): Promise<string | undefined>;
  /** Another secret's current value (the master secret of alternating users). */
  getOther(secretId: string): Promise<string>;
  putPending(token: string, value: string): Promise<void>;
  /** Moves AWSCURRENT to `token` (AWSPREVIOUS follows), unless it is there already. */
  finish(token: string): Promise<void>;
}

export interface BuiltInHost {
  repo: Repository;
  credentials?: Credentials;
  now(): number;
}

export type BuiltInRotator = (
  step: RotationStep,
  access: SecretAccess,
  token: string,
  host: BuiltInHost,
  accountId: string,
) => Promise<void>;

export const BUILT_IN_ROTATORS: ReadonlyMap<string, BuiltInRotator> = new Map<string, BuiltInRotator>([
  [BUILT_IN.postgresSingleUser, (step, access, token) => postgres(step, access, token, false)],
  [BUILT_IN.postgresMultiUser, (step, access, token) => postgres(step, access, token, true)],
  [BUILT_IN.iamAccessKey, iamAccessKey],
]);

function fail(message: string): never {
  throw new ServiceError("InvalidRequestException", message);
}

/** A new password: 32 characters of base64url, none of the characters AWS's templates exclude (/@"'\). */
function newPassword(): string {
  return randomBytes(24).toString("base64url");
}

// ---- PostgreSQL ------------------------------------------------------------------------------

interface RdsSecret {
  engine?: string;
  host: string;
  port?: number | string;
  username: string;
  password: string;
  dbname?: string;
  masterarn?: string;
  [other: string]: unknown;
}

function rdsSecret(text: string | undefined, which: string): RdsSecret {
  if (text === undefined) fail(`The secret has no ${which} version.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail(`The ${which} secret value is not JSON in the RDS secret shape (engine, host, port, username, password, dbname).`);
  }
  const s = parsed as Partial<RdsSecret> | null;
  if (!s || typeof s !== "object" || typeof s.host !== "string" || typeof s.username !== "string" || typeof s.password !== "string") {
    fail(`The ${which} secret value lacks host, username or password (the RDS secret shape).`);
  }
  if (s.engine !== undefined && s.engine !== "postgres") fail(`The ${which} secret's engine is '${String(s.engine)}', not postgres.`);
  return s as RdsSecret;
}

/** A connection as `secret` describes it, or undefined when its credentials are refused. */
async function connect(secret: RdsSecret): Promise<pg.Client | undefined> {
  const client = new pg.Client({
    host: secret.host,
    port: secret.port === undefined ? 5432 : Number(secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? "postgres",
    connectionTimeoutMillis: 5000,
    statement_timeout: 10_000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return client;
  } catch {
    await client.end().catch(() => {});
    return undefined;
  }
}

async function postgres(step: RotationStep, access: SecretAccess, token: string, alternating: boolean): Promise<void> {
  switch (step) {
    case "createSecret": {
      const current = rdsSecret(await access.get(CURRENT), CURRENT);
      if ((await access.get(PENDING, token)) !== undefined) return;
      const next: RdsSecret = { ...current, password: newPassword() };
      if (alternating) {
        // AWS's alternating-users template: the other of <user> and <user>_clone.
        next.username = current.username.endsWith("_clone") ? current.username.slice(0, -"_clone".length) : `${current.username}_clone`;
        if (next.username.length > 63) fail("The clone user's name would exceed PostgreSQL's 63 characters.");
      }
      await access.putPending(token, JSON.stringify(next));
      return;
    }
    case "setSecret": {
      const pending = rdsSecret(await access.get(PENDING, token), PENDING);
      const current = rdsSecret(await access.get(CURRENT), CURRENT);
      // The pending version must describe the same database: a rotation never points credentials elsewhere.
      if (
        pending.host !== current.host ||
        String(pending.port ?? 5432) !== String(current.port ?? 5432) ||
        pending.dbname !== current.dbname
      ) {
        fail("The pending secret names another database than the current one.");
      }
      if (alternating) return setAlternating(access, pending, current);
      if (pending.username !== current.username) fail("The pending secret names another user than the current one.");
      const already = await connect(pending);
      if (already) return void (await already.end());
      const previousText = await access.get(PREVIOUS);
      const client =
        (await connect(current)) ?? (previousText === undefined ? undefined : await connect(rdsSecret(previousText, PREVIOUS)));
      if (!client) fail(`Unable to log into the database as ${current.username} with the previous, current or pending secret.`);
      try {
        await alterPassword(client, pending.username, pending.password);
      } finally {
        await client.end();
      }
      return;
    }
    case "testSecret": {
      const pending = rdsSecret(await access.get(PENDING, token), PENDING);
      const client = await connect(pending);
      if (!client) fail(`Unable to log into the database as ${pending.username} with the pending secret.`);
      try {
        await client.query("SELECT now()");
      } finally {
        await client.end();
      }
      return;
    }
    case "finishSecret":
      return access.finish(token);
  }
}

/** ALTER ROLE with the name and password quoted by the driver: a username is data, never SQL. */
async function alterPassword(client: pg.Client, username: string, password: string): Promise<void> {
  await client.query(`ALTER ROLE ${client.escapeIdentifier(username)} WITH PASSWORD ${client.escapeLiteral(password)}`);
}

async function setAlternating(access: SecretAccess, pending: RdsSecret, current: RdsSecret): Promise<void> {
  if (typeof current.masterarn !== "string") fail("An alternating-users secret carries masterarn, the ARN of the superuser's secret.");
  const master = rdsSecret(await access.getOther(current.masterarn), "master");
  if (master.host !== current.host) fail("The master secret names another database host than the secret.");
  const client = await connect({ ...master, dbname: current.dbname });
  if (!client) fail("Unable to log into the database with the master secret.");
  try {
    const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [pending.username]);
    if (exists.rowCount === 0) {
      // As AWS's template: the clone logs in with its own password and is a member of the user it stands in for.
      await client.query(
        `CREATE ROLE ${client.escapeIdentifier(pending.username)} WITH LOGIN PASSWORD ${client.escapeLiteral(pending.password)}`,
      );
      await client.query(`GRANT ${client.escapeIdentifier(current.username)} TO ${client.escapeIdentifier(pending.username)}`);
    } else {
      await alterPassword(client, pending.username, pending.password);
    }
  } finally {
    await client.end();
  }
}

// ---- IAM access keys -------------------------------------------------------------------------

/** Whether `s` names an active key of its user in this account, with that key's very secret (compared in constant time). */
async function holdsKey(credentials: Credentials, accountId: string, s: AccessKeySecret): Promise<boolean> {
  if (typeof s.SecretAccessKey !== "string") return false;
  const identity = await credentials.lookup(s.AccessKeyId);
  if (
    !identity ||
    identity.accountId !== accountId ||
    identity.principal.type !== "IAMUser" ||
    identity.principal.userName !== s.UserName
  ) {
    return false;
  }
  const a = createHash("sha256").update(identity.secretAccessKey).digest();
  const b = createHash("sha256").update(s.SecretAccessKey).digest();
  return timingSafeEqual(a, b);
}

interface AccessKeySecret {
  UserName: string;
  AccessKeyId: string;
  SecretAccessKey: string;
}

function accessKeySecret(text: string | undefined, which: string): AccessKeySecret {
  if (text === undefined) fail(`The secret has no ${which} version.`);
  let parsed: Partial<AccessKeySecret> | null = null;
  try {
    parsed = JSON.parse(text) as Partial<AccessKeySecret>;
  } catch {
    // reported below
  }
  if (!parsed || typeof parsed.UserName !== "string" || typeof parsed.AccessKeyId !== "string") {
    fail(`The ${which} secret value is not {"UserName", "AccessKeyId", "SecretAccessKey"}.`);
  }
  return parsed as AccessKeySecret;
}

/** A new access key, then (finishSecret) the old one deactivated and deleted: keyhold's IAM, in process. */
async function iamAccessKey(step: RotationStep, access: SecretAccess, token: string, host: BuiltInHost, accountId: string): Promise<void> {
  const { repo, credentials } = host;
  if (!credentials) fail("The IAM access-key rotator is not available in this process.");
  switch (step) {
    case "createSecret": {
      const current = accessKeySecret(await access.get(CURRENT), CURRENT);
      if ((await access.get(PENDING, token)) !== undefined) return;
      // Only a holder of the key may have it rotated: otherwise a writer of this secret could name
      // another user's key id (ids are not secret) and be handed a new key of that user.
      if (!(await holdsKey(credentials, accountId, current))) {
        fail(`The current value's SecretAccessKey is not the secret of access key ${current.AccessKeyId} of IAM user ${current.UserName}.`);
      }
      const keys = await repo.listAccessKeys(accountId, current.UserName);
      if (!keys.some((k) => k.accessKeyId === current.AccessKeyId)) {
        fail(`The current access key is not a key of IAM user ${current.UserName} in this account.`);
      }
      // A user has at most two keys: an inactive one left over is removed; an active one is never touched.
      for (const k of keys) {
        if (k.accessKeyId !== current.AccessKeyId && k.status === "Inactive") await repo.deleteAccessKey(k.accessKeyId);
      }
      if ((await repo.listAccessKeys(accountId, current.UserName)).length >= 2) {
        fail(`IAM user ${current.UserName} already has two active access keys.`);
      }
      const accessKeyId = generateAccessKeyId();
      const secretAccessKey = generateSecretAccessKey();
      await credentials.addAccessKey(accountId, accessKeyId, secretAccessKey, host.now(), { userName: current.UserName });
      await access.putPending(
        token,
        JSON.stringify({ UserName: current.UserName, AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey }),
      );
      return;
    }
    case "setSecret":
      return; // the key is active from its creation
    case "testSecret": {
      const pending = accessKeySecret(await access.get(PENDING, token), PENDING);
      if (!(await holdsKey(credentials, accountId, pending))) {
        fail(`The pending access key is not an active key of IAM user ${pending.UserName} with the pending secret.`);
      }
      return;
    }
    case "finishSecret": {
      const pending = accessKeySecret(await access.get(PENDING, token), PENDING);
      await access.finish(token);
      const previous = await access.get(PREVIOUS);
      if (previous === undefined) return;
      const old = accessKeySecret(previous, PREVIOUS);
      const key = await repo.getAccessKey(old.AccessKeyId);
      if (!key || old.AccessKeyId === pending.AccessKeyId || key.accountId !== accountId || key.userName !== old.UserName) return;
      // Deactivated first, as an operator would: a key that failed to delete still signs nothing.
      await repo.putAccessKey({ ...key, status: "Inactive" });
      await repo.deleteAccessKey(key.accessKeyId);
      return;
    }
  }
}
