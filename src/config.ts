/**
 * Every setting is an environment variable and a flag of `keyhold server`; flags win. One table
 * drives parsing, defaults and `keyhold server --help`.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { AWS_REGIONS, REGION_NAME } from "./regions.js";
import type { LogFormat, LogLevel } from "./log.js";

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  region: string;
  /** Private region names served besides AWS's (src/regions.ts). */
  extraRegions?: string[];
  accountId: string;
  rootAccessKeyId?: string;
  rootSecretAccessKey?: string;
  masterKeyFile?: string;
  masterPassphrase?: string;
  /** A file holding the passphrase (its first line), instead of the passphrase itself. */
  masterPassphraseFile?: string;
  /** The root of trust in a PKCS#11 token: the module, the token (label or slot) and its user PIN. */
  hsmModule?: string;
  hsmTokenLabel?: string;
  hsmSlot?: number;
  hsmPinFile?: string;
  /** From the environment only: a PIN on the command line is in every `ps` listing. */
  hsmPin?: string;
  schedulerIntervalMs: number;
  workers: number;
  /** Unwrapped key versions each process keeps (KmsService); records of each kind (CachedRepository). */
  keyCacheSize?: number;
  recordCacheSize?: number;
  auditDigestIntervalMs: number;
  auditRetentionDays: number;
  /** "commit": each audit commit is fsynced before responses go; "periodic": written to the OS before, fsynced every 100 ms. */
  auditSync?: AuditSync;
  databaseUrl?: string;
  /** Whether new S3 buckets accept SSE-C writes (S3's own default since April 2026 is no). */
  s3AllowSseC?: boolean;
  /** How often the SSE-S3 service key rotates, in days. */
  s3KeyRotationDays?: number;
  /** How often CloudTrail trails deliver their log and digest files to S3 (ms). */
  trailDeliveryIntervalMs?: number;
  /** An S3-compatible endpoint trails deliver to instead of keyhold's own S3, and the access key they sign with there. */
  trailS3Endpoint?: string;
  trailS3Region?: string;
  trailS3AccessKeyId?: string;
  trailS3SecretAccessKey?: string;
  /** A second port serving HTTPS (SSE-C requires it); unset: HTTP only. */
  tlsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  /** An ACM certificate of keyhold's own account to serve HTTPS with, followed when it is renewed or re-imported. */
  tlsCertificateArn?: string;
  /** The URL clients reach keyhold at (http://host:port, no path): the CRL and OCSP URLs written into certificates. */
  publicUrl?: string;
  /** Connection limits (src/http/server.ts ConnectionLimits); defaults there when unset. */
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  minReceiveRate?: number;
  maxConnectionsPerSource?: number;
  /** Seconds a shutdown (SIGTERM, SIGINT) waits for requests in flight before closing their connections. */
  shutdownTimeout?: number;
  /** Leave a data directory that others may read as it is (with a warning) instead of making it 0700. */
  allowOpenDataDir?: boolean;
  /** A separate listener for /metrics (Prometheus), /healthz and /readyz; unset: none. */
  metricsPort?: number;
  metricsHost?: string;
  /** How the log is written: one JSON object a line, or text for a terminal (default: text on a terminal, else JSON). */
  logFormat?: LogFormat;
  /** The least severe level written; requests are logged at info. */
  logLevel?: LogLevel;
}

export type AuditSync = "commit" | "periodic";

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  help: string;
  default?: string;
  parse?: (value: string) => unknown;
  /** A secret taken from the environment only; as a flag it is refused (argv is in every `ps` listing). */
  envOnly?: boolean;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

function boolean(name: string) {
  return (value: string): boolean => {
    if (value !== "true" && value !== "false") throw new ConfigError(`${name} must be true or false, not ${value}`);
    return value === "true";
  };
}

function matching(name: string, pattern: RegExp, what: string) {
  return (value: string): string => {
    if (!pattern.test(value)) throw new ConfigError(`${name} must be ${what}, got '${value}'`);
    return value;
  };
}

export class ConfigError extends Error {}

export const SETTINGS: readonly Setting[] = [
  { key: "host", env: "KEYHOLD_HOST", flag: "--host", default: "127.0.0.1", help: "address to listen on" },
  {
    key: "port",
    env: "KEYHOLD_PORT",
    flag: "--port",
    default: "8420",
    help: "port to listen on (0 picks a free one)",
    parse: integer("port", 0, 65535),
  },
  {
    key: "dataDir",
    env: "KEYHOLD_DATA_DIR",
    flag: "--data-dir",
    default: "./keyhold-data",
    help: "where state is kept",
    parse: (v) => resolve(v),
  },
  {
    key: "allowOpenDataDir",
    env: "KEYHOLD_ALLOW_OPEN_DATA_DIR",
    flag: "--allow-open-data-dir",
    default: "false",
    help: "true: a data directory other users may read is left so, with a warning; false: it is made 0700 (files in it are 0600 either way)",
    parse: boolean("allow open data dir"),
  },
  {
    key: "region",
    env: "KEYHOLD_REGION",
    flag: "--region",
    default: "us-east-1",
    help: "region shown in printed examples; AWS's regions and --extra-regions are served",
    parse: matching("region", REGION_NAME, "a region name such as us-east-1"),
  },
  {
    key: "extraRegions",
    env: "KEYHOLD_EXTRA_REGIONS",
    flag: "--extra-regions",
    help: "comma-separated private region names served besides AWS's (a request signed for any other region is refused)",
    parse: (v) =>
      v.split(",").map((name) => {
        const region = name.trim();
        if (!REGION_NAME.test(region)) throw new ConfigError(`extra region '${region}' is not a region name such as dc-east-1`);
        return region;
      }),
  },
  {
    key: "accountId",
    env: "KEYHOLD_ACCOUNT_ID",
    flag: "--account-id",
    default: "000000000000",
    help: "id of the first account, made at initialization",
    parse: matching("account id", /^\d{12}$/, "12 digits"),
  },
  {
    key: "rootAccessKeyId",
    env: "KEYHOLD_ROOT_ACCESS_KEY_ID",
    flag: "--root-access-key-id",
    help: "access key id of the first account's root user, at initialization",
    parse: matching("root access key id", /^[A-Z0-9]{16,128}$/, "16–128 upper-case letters and digits"),
  },
  { key: "rootSecretAccessKey", env: "KEYHOLD_ROOT_SECRET_ACCESS_KEY", flag: "--root-secret-access-key", help: "its secret access key" },
  {
    key: "masterKeyFile",
    env: "KEYHOLD_MASTER_KEY_FILE",
    flag: "--master-key-file",
    help: "file holding the key that seals the root key (default: <data-dir>/master.key, created 0600)",
    parse: (v) => resolve(v),
  },
  {
    key: "masterPassphrase",
    env: "KEYHOLD_MASTER_PASSPHRASE",
    flag: "--master-passphrase",
    help: "passphrase the root-key seal is derived from with scrypt, instead of a master key file",
  },
  {
    key: "masterPassphraseFile",
    env: "KEYHOLD_MASTER_PASSPHRASE_FILE",
    flag: "--master-passphrase-file",
    help: "file whose first line is that passphrase (keeps it out of the environment and of ps)",
    parse: (v) => resolve(v),
  },
  {
    key: "hsmModule",
    env: "KEYHOLD_HSM_MODULE",
    flag: "--hsm-module",
    help: "PKCS#11 module (.so) of the HSM that holds the root of trust; the root key is sealed by a non-extractable key in the token",
    parse: (v) => resolve(v),
  },
  {
    key: "hsmTokenLabel",
    env: "KEYHOLD_HSM_TOKEN_LABEL",
    flag: "--hsm-token-label",
    help: "label of that HSM token (or --hsm-slot)",
    parse: (v) => {
      if (Buffer.byteLength(v, "utf8") > 32) throw new ConfigError("an HSM token label is at most 32 bytes (PKCS#11)");
      return v;
    },
  },
  {
    key: "hsmSlot",
    env: "KEYHOLD_HSM_SLOT",
    flag: "--hsm-slot",
    help: "slot id of that HSM token, instead of its label",
    parse: integer("HSM slot", 0, 2 ** 32 - 1),
  },
  {
    key: "hsmPinFile",
    env: "KEYHOLD_HSM_PIN_FILE",
    flag: "--hsm-pin-file",
    help: "file whose first line is the token user's PIN",
    parse: (v) => resolve(v),
  },
  {
    key: "hsmPin",
    env: "KEYHOLD_HSM_PIN",
    flag: "--hsm-pin",
    envOnly: true,
    help: "the token user's PIN, instead of --hsm-pin-file (environment only: never a flag, which ps would show)",
  },
  {
    key: "workers",
    env: "KEYHOLD_WORKERS",
    flag: "--workers",
    // One process per core is the fastest layout (docs/performance.md); --workers 1 keeps one.
    default: String(Math.min(64, availableParallelism())),
    help: "server processes sharing the port and the database; the default is one per core of this machine",
    parse: integer("workers", 1, 64),
  },
  {
    key: "keyCacheSize",
    env: "KEYHOLD_KEY_CACHE_SIZE",
    flag: "--key-cache-size",
    default: "100000",
    help: "unwrapped key versions each server process keeps; past it the least recently used is dropped",
    parse: integer("key cache size", 1, 10_000_000),
  },
  {
    key: "recordCacheSize",
    env: "KEYHOLD_RECORD_CACHE_SIZE",
    flag: "--record-cache-size",
    default: "100000",
    help: "records of each kind (keys, access keys, aliases, policies; key versions: at most 10,000) each server process keeps; past it the least recently used is dropped",
    parse: integer("record cache size", 1, 10_000_000),
  },
  {
    key: "schedulerIntervalMs",
    env: "KEYHOLD_SCHEDULER_INTERVAL_MS",
    flag: "--scheduler-interval-ms",
    default: "60000",
    help: "how often due rotations and deletions are carried out",
    parse: integer("scheduler interval", 10, 86_400_000),
  },
  {
    key: "databaseUrl",
    env: "KEYHOLD_DATABASE_URL",
    flag: "--database-url",
    help: "postgres://… to share keys with other keyhold nodes (default: SQLite in the data directory)",
    parse: matching("database URL", /^postgres(ql)?:\/\//, "a postgres:// URL"),
  },
  {
    key: "auditDigestIntervalMs",
    env: "KEYHOLD_AUDIT_DIGEST_INTERVAL_MS",
    flag: "--audit-digest-interval-ms",
    default: "60000",
    help: "how often a signed digest of the audit trail is written (and at shutdown)",
    parse: integer("audit digest interval", 1000, 86_400_000),
  },
  {
    key: "trailDeliveryIntervalMs",
    env: "KEYHOLD_TRAIL_DELIVERY_INTERVAL_MS",
    flag: "--trail-delivery-interval-ms",
    default: "300000",
    help: "how often CloudTrail trails deliver log files and signed digest files to their S3 buckets",
    parse: integer("trail delivery interval", 1000, 86_400_000),
  },
  {
    key: "trailS3Endpoint",
    env: "KEYHOLD_TRAIL_S3_ENDPOINT",
    flag: "--trail-s3-endpoint",
    help: "an S3-compatible endpoint (https://…) trails deliver to instead of keyhold's own S3",
    parse: matching("trail S3 endpoint", /^https?:\/\/[^/\s]+\/?$/, "an http:// or https:// URL with no path"),
  },
  {
    key: "trailS3Region",
    env: "KEYHOLD_TRAIL_S3_REGION",
    flag: "--trail-s3-region",
    help: "the region requests to that endpoint are signed for (default: --region)",
    parse: matching("trail S3 region", REGION_NAME, "a region such as eu-west-1"),
  },
  {
    key: "trailS3AccessKeyId",
    env: "KEYHOLD_TRAIL_S3_ACCESS_KEY_ID",
    flag: "--trail-s3-access-key-id",
    help: "the access key trails sign their deliveries to that endpoint with",
  },
  {
    key: "trailS3SecretAccessKey",
    env: "KEYHOLD_TRAIL_S3_SECRET_ACCESS_KEY",
    flag: "--trail-s3-secret-access-key",
    help: "its secret access key",
  },
  {
    key: "auditRetentionDays",
    env: "KEYHOLD_AUDIT_RETENTION_DAYS",
    flag: "--audit-retention-days",
    default: "365",
    help: "how long audit events are kept",
    parse: integer("audit retention", 1, 36_500),
  },
  {
    key: "auditSync",
    env: "KEYHOLD_AUDIT_SYNC",
    flag: "--audit-sync",
    // periodic by default: every response still waits for its event to be written (a crash or
    // kill -9 of keyhold loses nothing), and only a power loss or kernel crash can take the last
    // 100 ms, at about 1.5 times commit's throughput (docs/performance.md, "Defaults").
    default: "periodic",
    help: "periodic: each audit event is in the OS before its response (survives kill -9 of keyhold) and on disk within 100 ms; commit: on disk (fsynced) before its response (survives power loss), slower",
    parse: matching("audit sync", /^(periodic|commit)$/, "periodic or commit"),
  },
  {
    key: "tlsPort",
    env: "KEYHOLD_TLS_PORT",
    flag: "--tls-port",
    help: "also serve HTTPS on this port (0 picks a free one); with a certificate made at first start unless --tls-cert/--tls-key",
    parse: integer("TLS port", 0, 65535),
  },
  {
    key: "tlsCert",
    env: "KEYHOLD_TLS_CERT",
    flag: "--tls-cert",
    help: "PEM certificate chain for HTTPS (default: an ACM certificate from keyhold's own private CA, made at first start; clients trust <data-dir>/tls/ca.pem)",
    parse: (v) => resolve(v),
  },
  { key: "tlsKey", env: "KEYHOLD_TLS_KEY", flag: "--tls-key", help: "PEM private key of --tls-cert", parse: (v) => resolve(v) },
  {
    key: "tlsCertificateArn",
    env: "KEYHOLD_TLS_CERTIFICATE_ARN",
    flag: "--tls-certificate-arn",
    help: "serve HTTPS with this ACM certificate of keyhold's own account (and region), switching without a restart when it is renewed or re-imported",
    parse: matching(
      "ACM certificate ARN",
      /^arn:aws:acm:[a-z0-9-]{1,32}:\d{12}:certificate\/[0-9a-f-]{36}$/,
      "arn:aws:acm:<region>:<account>:certificate/<id>",
    ),
  },
  {
    key: "publicUrl",
    env: "KEYHOLD_PUBLIC_URL",
    flag: "--public-url",
    help: "the URL clients reach this keyhold at (http://pki.example.com:8420), written into certificates as the CRL and OCSP URLs (default: http://<host>:<port>)",
    parse: (v) =>
      matching("public URL", /^https?:\/\/[A-Za-z0-9.:[\]-]{1,253}\/?$/, "an http:// or https:// URL with no path")(v).replace(/\/$/, ""),
  },
  {
    key: "headersTimeoutMs",
    env: "KEYHOLD_HEADERS_TIMEOUT_MS",
    flag: "--headers-timeout-ms",
    default: "20000",
    help: "a request's headers must arrive within this time, or its connection is closed",
    parse: integer("headers timeout", 100, 600_000),
  },
  {
    key: "idleTimeoutMs",
    env: "KEYHOLD_IDLE_TIMEOUT_MS",
    flag: "--idle-timeout-ms",
    default: "60000",
    help: "a connection silent this long is closed; also the window over which --min-receive-rate is measured",
    parse: integer("idle timeout", 100, 3_600_000),
  },
  {
    key: "minReceiveRate",
    env: "KEYHOLD_MIN_RECEIVE_RATE",
    flag: "--min-receive-rate",
    default: "1024",
    help: "bytes per second a request body must arrive at, averaged over each idle timeout, or its connection is closed (no total time limit: large uploads are never cut)",
    parse: integer("minimum receive rate", 1, 1_073_741_824),
  },
  {
    key: "maxConnectionsPerSource",
    env: "KEYHOLD_MAX_CONNECTIONS_PER_SOURCE",
    flag: "--max-connections-per-source",
    default: "256",
    help: "open connections one client address may hold; more are closed as they arrive",
    parse: integer("max connections per source", 1, 1_000_000),
  },
  {
    key: "metricsPort",
    env: "KEYHOLD_METRICS_PORT",
    flag: "--metrics-port",
    help: "serve Prometheus metrics at /metrics, and /healthz and /readyz, on this port (0 picks a free one); unset: no metrics listener",
    parse: integer("metrics port", 0, 65535),
  },
  {
    key: "metricsHost",
    env: "KEYHOLD_METRICS_HOST",
    flag: "--metrics-host",
    default: "127.0.0.1",
    help: "address the metrics listener listens on (it is unauthenticated: keep it off public networks)",
  },
  {
    key: "logFormat",
    env: "KEYHOLD_LOG_FORMAT",
    flag: "--log-format",
    help: "json: one JSON object a line (for log collectors); text: for a terminal (default: text when stderr is a terminal, else json)",
    parse: matching("log format", /^(json|text)$/, "json or text"),
  },
  {
    key: "logLevel",
    env: "KEYHOLD_LOG_LEVEL",
    flag: "--log-level",
    default: "info",
    help: "least severe level logged: debug, info (a line per request), warn, error or silent",
    parse: matching("log level", /^(debug|info|warn|error|silent)$/, "debug, info, warn, error or silent"),
  },
  {
    key: "shutdownTimeout",
    env: "KEYHOLD_SHUTDOWN_TIMEOUT",
    flag: "--shutdown-timeout",
    default: "30",
    help: "seconds a shutdown (SIGTERM, SIGINT) lets requests in flight finish before their connections are closed",
    parse: integer("shutdown timeout", 0, 3600),
  },
  {
    key: "s3KeyRotationDays",
    env: "KEYHOLD_S3_KEY_ROTATION_DAYS",
    flag: "--s3-key-rotation-days",
    default: "365",
    help: "how often the key that wraps SSE-S3 data keys rotates (older objects stay readable)",
    parse: integer("S3 key rotation", 90, 2560),
  },
  {
    key: "s3AllowSseC",
    env: "KEYHOLD_S3_ALLOW_SSE_C",
    flag: "--s3-allow-sse-c",
    default: "false",
    help: "true: new S3 buckets accept SSE-C uploads; false (as S3 since April 2026): blocked until PutBucketEncryption unblocks them",
    parse: (v) => {
      if (v !== "true" && v !== "false") throw new ConfigError(`s3 allow sse-c must be true or false, not ${v}`);
      return v === "true";
    },
  },
];

export function loadConfig(env: NodeJS.ProcessEnv, args: readonly string[]): Config {
  const given = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const setting = SETTINGS.find((s) => s.flag === flag);
    if (!setting) throw new ConfigError(`unknown option ${flag} (see keyhold server --help)`);
    // Refused before its value is read: the value is never echoed, and the caller learns at once
    // that the secret is already in this machine's process list and shell history.
    if (setting.envOnly) {
      throw new ConfigError(
        `${flag} is not taken on the command line, where ps shows it to every user: set ${setting.env}, or use ${flag}-file`,
      );
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new ConfigError(`option ${flag} needs a value`);
    given.set(setting.key, value);
  }
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const raw = given.get(s.key) ?? env[s.env] ?? s.default;
    if (raw === undefined || raw === "") continue;
    config[s.key] = s.parse ? s.parse(raw) : raw;
  }
  if ((config.rootAccessKeyId === undefined) !== (config.rootSecretAccessKey === undefined)) {
    throw new ConfigError("KEYHOLD_ROOT_ACCESS_KEY_ID and KEYHOLD_ROOT_SECRET_ACCESS_KEY go together");
  }
  if (config.tlsCertificateArn !== undefined && (config.tlsCert !== undefined || config.tlsKey !== undefined)) {
    throw new ConfigError("set one HTTPS certificate: --tls-certificate-arn or --tls-cert/--tls-key, not both");
  }
  const remote = [config.trailS3Endpoint, config.trailS3AccessKeyId, config.trailS3SecretAccessKey];
  if (remote.some((v) => v !== undefined) && remote.some((v) => v === undefined)) {
    throw new ConfigError("KEYHOLD_TRAIL_S3_ENDPOINT, KEYHOLD_TRAIL_S3_ACCESS_KEY_ID and KEYHOLD_TRAIL_S3_SECRET_ACCESS_KEY go together");
  }
  const region = config.region as string;
  const extra = (config.extraRegions as string[] | undefined) ?? [];
  if (!AWS_REGIONS.has(region) && !extra.includes(region)) {
    throw new ConfigError(
      `region '${region}' is not an AWS region; name a real one (us-east-1, eu-west-1, …) or add a private one with KEYHOLD_EXTRA_REGIONS`,
    );
  }
  checkRootOfTrust(config);
  return config as unknown as Config;
}

/** One root of trust: a master key file, a passphrase, or an HSM token, each fully named. */
function checkRootOfTrust(config: Record<string, unknown>): void {
  const chosen = [
    config.masterKeyFile !== undefined && "KEYHOLD_MASTER_KEY_FILE",
    config.masterPassphrase !== undefined && "KEYHOLD_MASTER_PASSPHRASE",
    config.masterPassphraseFile !== undefined && "KEYHOLD_MASTER_PASSPHRASE_FILE",
    config.hsmModule !== undefined && "KEYHOLD_HSM_MODULE",
  ].filter((c): c is string => typeof c === "string");
  if (chosen.length > 1) throw new ConfigError(`set one root of trust: ${chosen.join(" or ")}, not both`);
  const hsmPart =
    config.hsmTokenLabel !== undefined || config.hsmSlot !== undefined || config.hsmPinFile !== undefined || config.hsmPin !== undefined;
  if (config.hsmModule === undefined) {
    if (hsmPart) throw new ConfigError("the HSM token and PIN settings need KEYHOLD_HSM_MODULE (--hsm-module)");
    return;
  }
  if ((config.hsmTokenLabel === undefined) === (config.hsmSlot === undefined)) {
    throw new ConfigError("with KEYHOLD_HSM_MODULE name the token by KEYHOLD_HSM_TOKEN_LABEL or KEYHOLD_HSM_SLOT, one of the two");
  }
  if ((config.hsmPinFile === undefined) === (config.hsmPin === undefined)) {
    throw new ConfigError(
      "with KEYHOLD_HSM_MODULE give the token user's PIN in KEYHOLD_HSM_PIN_FILE (--hsm-pin-file) or KEYHOLD_HSM_PIN, one of the two",
    );
  }
}

export function settingsHelp(): string {
  return SETTINGS.map(
    (s) =>
      `  ${(s.envOnly ? "(environment only)" : s.flag + " <value>").padEnd(34)} ${s.env.padEnd(32)} ${s.help}${s.default ? ` (default ${s.default})` : ""}`,
  ).join("\n");
}
