/** Alias name rules: `alias/` then at least one character; `alias/aws/` is reserved for AWS managed keys. */
import { ServiceError } from "../errors.js";

export function checkAliasName(aliasName: string): string {
  if (!aliasName.startsWith("alias/") || aliasName.length === "alias/".length) {
    throw new ServiceError("InvalidAliasNameException", `Alias name '${aliasName}' must begin with 'alias/' followed by a name.`);
  }
  if (aliasName.startsWith("alias/aws/")) {
    throw new ServiceError(
      "InvalidAliasNameException",
      `Alias name '${aliasName}' uses the prefix 'alias/aws/', which is reserved for AWS managed keys.`,
    );
  }
  return aliasName;
}
