import { randomInt } from "node:crypto";
import type { GetRandomPasswordRequest, GetRandomPasswordResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { bool, int, str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
/** The punctuation Secrets Manager draws from: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ */
const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

export const getRandomPassword = defineOperation<GetRandomPasswordRequest, GetRandomPasswordResponse>({
  name: "GetRandomPassword",
  description: "Generate a random password (1–4096 characters, default 32) from the character types asked for.",
  readOnly: true,
  input: struct({
    PasswordLength: int({ min: 1, max: 4096 }),
    ExcludeCharacters: str({ min: 0, max: 4096 }),
    ExcludeNumbers: bool(),
    ExcludePunctuation: bool(),
    ExcludeUppercase: bool(),
    ExcludeLowercase: bool(),
    IncludeSpace: bool(),
    RequireEachIncludedType: bool(),
  }),
  async run(sm, call, input) {
    await sm.authorizer.require(call, { action: "secretsmanager:GetRandomPassword", resource: "*" });
    const length = input.PasswordLength ?? 32;
    const excluded = new Set(input.ExcludeCharacters ?? "");
    const keep = (chars: string) => [...chars].filter((c) => !excluded.has(c)).join("");
    const types: string[] = [];
    if (input.ExcludeLowercase !== true) types.push(keep(LOWER));
    if (input.ExcludeUppercase !== true) types.push(keep(UPPER));
    if (input.ExcludeNumbers !== true) types.push(keep(DIGITS));
    if (input.ExcludePunctuation !== true) types.push(keep(PUNCTUATION));
    // A space may appear, but is not a type every password must contain; nor is a type ExcludeCharacters empties.
    const space = input.IncludeSpace === true && !excluded.has(" ") ? " " : "";
    const required = input.RequireEachIncludedType !== false ? types.filter((t) => t !== "") : [];
    const all = types.join("") + space;
    if (all === "") {
      throw new ServiceError("InvalidParameterException", "The password can't be made: every character is excluded.");
    }
    if (required.length > length) {
      throw new ServiceError(
        "InvalidParameterException",
        `PasswordLength ${length} is too short to include one character of each of the ${required.length} required types.`,
      );
    }
    // One character of each required type, the rest from all of them, then shuffled (Fisher–Yates).
    const chars: string[] = required.map((t) => t[randomInt(t.length)]!);
    while (chars.length < length) chars.push(all[randomInt(all.length)]!);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    return { RandomPassword: chars.join("") };
  },
});
