/** `keyhold account create | list`: accounts of a data directory (or shared database), each with its own root credentials. */
import { randomInt } from "node:crypto";
import { ConfigError, loadConfig } from "../config.js";
import { createAccount, listAccounts } from "../app.js";

export const ACCOUNT_USAGE = `  keyhold account create [--account-id <12 digits>] [server options]
                                                          make an account with its own root credentials (printed once)
  keyhold account list [server options]                   list the accounts`;

export async function runAccount(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  let requested: string | undefined;
  const at = args.indexOf("--account-id");
  if (at >= 0) {
    requested = args[at + 1];
    if (requested === undefined || !/^\d{12}$/.test(requested)) throw new ConfigError("--account-id needs 12 digits");
    args.splice(at, 2);
  }
  const config = loadConfig(process.env, args);
  if (command === "create") {
    const accountId = requested ?? String(randomInt(100_000_000_000, 999_999_999_999));
    const creds = await createAccount(config, accountId);
    process.stdout.write(
      [
        `Account ${accountId} created. Its root credentials (shown once):`,
        `  export AWS_ACCESS_KEY_ID=${creds.accessKeyId}`,
        `  export AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`,
        "",
      ].join("\n"),
    );
    return 0;
  }
  if (command === "list") {
    for (const a of await listAccounts(config)) process.stdout.write(`${a.accountId}  created ${new Date(a.createdAt).toISOString()}\n`);
    return 0;
  }
  throw new ConfigError(`unknown account command '${command ?? ""}'\n${ACCOUNT_USAGE}`);
}
