/**
 * Every keyhold command but `audit` (which main.ts runs with only the audit modules loaded): the
 * usage text, the operations list, the server and the administrative commands.
 */
import { readFileSync } from "node:fs";
import { S3_ROUTES } from "../s3/registry.js";
import { loadConfig, settingsHelp } from "../config.js";
import { KMS_OPERATIONS } from "../kms/registry.js";
import { CLOUDTRAIL_OPERATIONS } from "../cloudtrail/registry.js";
import { runServer } from "./server.js";
import { AUDIT_USAGE } from "./audit.js";
import { ACCOUNT_USAGE, runAccount } from "./account.js";
import { ROTATION_FUNCTION_USAGE, runRotationFunction } from "./rotation-function.js";
import { HSM_USAGE, runHsm } from "./hsm.js";
import { CLOUDHSMV2_OPERATIONS } from "../cloudhsmv2/registry.js";
import { REKEY_USAGE, runRekey } from "./rekey.js";
import { BACKUP_USAGE, runBackup, runRestore } from "./backup.js";
import { IAM_OPERATIONS } from "../iam/registry.js";
import { STS_OPERATIONS } from "../sts/registry.js";
import { ORGANIZATIONS_OPERATIONS } from "../organizations/registry.js";
import { SECRETSMANAGER_OPERATIONS } from "../secretsmanager/registry.js";
import { ACMPCA_OPERATIONS } from "../acmpca/registry.js";
import { ACM_OPERATIONS } from "../acm/registry.js";
import { stopQuietlyOnClosedOutput } from "./output.js";

const USAGE = `keyhold — self-hosted encryption and key management that speaks the AWS APIs: KMS,
S3 with server-side encryption (SSE-S3, SSE-KMS, SSE-C), IAM and STS, Secrets Manager,
CloudTrail audit (a signed, verifiable trail) and Organizations, for the AWS SDKs, the AWS CLI
and boto3 unchanged (point --endpoint-url at keyhold).

Usage:
  keyhold server [options]     start the server (the first start initializes the data directory)
  keyhold operations           list the operations this server answers
${ACCOUNT_USAGE}
${ROTATION_FUNCTION_USAGE}
${AUDIT_USAGE}
${HSM_USAGE}
${REKEY_USAGE}
${BACKUP_USAGE}
  keyhold --version            the version
  keyhold --help               this text

Server options (each also an environment variable):
${settingsHelp()}
`;

/** The version in package.json (dist/src/cli/main.js is three folders below it). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  stopQuietlyOnClosedOutput(command);
  if (command === "--version" || command === "-v" || command === "version") {
    process.stdout.write(`keyhold ${version()}\n`);
    return 0;
  }
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === "operations") {
    for (const op of KMS_OPERATIONS) process.stdout.write(`kms ${op.name.padEnd(34)} ${op.description}\n`);
    for (const op of CLOUDTRAIL_OPERATIONS) process.stdout.write(`cloudtrail ${op.name.padEnd(27)} ${op.description}\n`);
    for (const op of IAM_OPERATIONS) process.stdout.write(`iam ${op.name.padEnd(34)} ${op.description}\n`);
    for (const op of STS_OPERATIONS) process.stdout.write(`sts ${op.name.padEnd(34)} ${op.description}\n`);
    for (const op of ORGANIZATIONS_OPERATIONS) process.stdout.write(`organizations ${op.name.padEnd(24)} ${op.description}\n`);
    for (const op of SECRETSMANAGER_OPERATIONS) process.stdout.write(`secretsmanager ${op.name.padEnd(23)} ${op.description}\n`);
    for (const op of ACMPCA_OPERATIONS) process.stdout.write(`acm-pca ${op.name.padEnd(30)} ${op.description}\n`);
    for (const op of CLOUDHSMV2_OPERATIONS) process.stdout.write(`cloudhsmv2 ${op.name.padEnd(27)} ${op.description}\n`);
    for (const op of ACM_OPERATIONS) process.stdout.write(`acm ${op.name.padEnd(34)} ${op.description}\n`);
    for (const r of S3_ROUTES) {
      const path = r.target === "service" ? "/" : r.target === "bucket" ? "/<bucket>" : "/<bucket>/<key>";
      const binding = `${r.method} ${path}${r.subresource ? `?${r.subresource}` : ""}${r.header ? ` with ${r.header}` : ""}`;
      process.stdout.write(`s3 ${r.name.padEnd(35)} ${binding}\n`);
    }
    return 0;
  }
  if (command === "account") return runAccount(rest);
  if (command === "rotation-function") return runRotationFunction(rest);
  if (command === "hsm") return runHsm(rest);
  if (command === "rekey") return runRekey(rest);
  if (command === "backup") return runBackup(rest);
  if (command === "restore") return runRestore(rest);
  if (command !== "server") {
    process.stderr.write(`keyhold: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  await runServer(loadConfig(process.env, rest));
  return -1; // keep running
}
