/**
 * `keyhold rotation-function create | list | delete`: the HTTP rotation services an account's
 * secrets may name as RotationLambdaARN (docs/rotation.md). Like `keyhold account`, it works on
 * the data directory (or shared database) directly, with the server's options.
 */
import { ConfigError, loadConfig } from "../config.js";
import { withStorage } from "../app.js";
import { ServiceError } from "../errors.js";
import { functionArn, RotationFunctions, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../secretsmanager/rotation/functions.js";

export const ROTATION_FUNCTION_USAGE = `  keyhold rotation-function create --name <name> --url <url> [--account-id <12 digits>] [--region <region>] [server options]
                                                          register an HTTP rotation service; prints its ARN and signing key (once)
  keyhold rotation-function list [--account-id <12 digits>] [server options]
  keyhold rotation-function delete --name <name> [--account-id <12 digits>] [server options]`;

function take(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new ConfigError(`${flag} needs a value`);
  args.splice(at, 2);
  return value;
}

export async function runRotationFunction(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const name = take(args, "--name");
  const url = take(args, "--url");
  const account = take(args, "--account-id");
  if (account !== undefined && !/^\d{12}$/.test(account)) throw new ConfigError("--account-id needs 12 digits");
  const config = loadConfig(process.env, args);
  const accountId = account ?? config.accountId;
  // --region is the server option: the region the ARN names (functions themselves are per account).
  const region = config.region;
  try {
    return await withStorage(config, async ({ repo, keystore }) => {
      if (!(await repo.getAccount(accountId))) throw new ConfigError(`account ${accountId} does not exist`);
      const functions = new RotationFunctions(repo, keystore);
      if (command === "create") {
        if (name === undefined || url === undefined) throw new ConfigError(`create needs --name and --url\n${ROTATION_FUNCTION_USAGE}`);
        const key = await functions.create(accountId, name, url, Date.now());
        process.stdout.write(
          [
            `Rotation function ${name} registered for ${url}.`,
            `  RotationLambdaARN: ${functionArn({ region, accountId, name })}`,
            `  Signing key (shown once; the service checks ${SIGNATURE_HEADER} = v1=hex(HMAC-SHA256(key, ${TIMESTAMP_HEADER} + "." + body))):`,
            `  ${key}`,
            "",
          ].join("\n"),
        );
        return 0;
      }
      if (command === "list") {
        for (const f of await functions.list(accountId)) {
          process.stdout.write(`${f.name}  ${f.url}  created ${new Date(f.createdAt).toISOString()}\n`);
        }
        return 0;
      }
      if (command === "delete") {
        if (name === undefined) throw new ConfigError(`delete needs --name\n${ROTATION_FUNCTION_USAGE}`);
        if (!(await functions.delete(accountId, name))) throw new ConfigError(`no rotation function named ${name} in account ${accountId}`);
        process.stdout.write(`Rotation function ${name} deleted.\n`);
        return 0;
      }
      throw new ConfigError(`unknown rotation-function command '${command ?? ""}'\n${ROTATION_FUNCTION_USAGE}`);
    });
  } catch (error) {
    // A refusal of the registry (a taken or reserved name, a bad URL) is the operator's error, said plainly.
    if (error instanceof ServiceError) throw new ConfigError(error.message);
    throw error;
  }
}
