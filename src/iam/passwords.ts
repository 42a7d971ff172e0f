/**
 * Console passwords: stored only as a slow salted hash (scrypt), compared in constant time, and
 * checked against the account's password policy. A password is a string the caller sent; keyhold
 * holds it no longer than one hash computation and never writes, logs or records it.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { ServiceError } from "../errors.js";

/**
 * scrypt with N = 2^15, r = 8, p = 1 (32 MiB, some 50–100 ms a hash on one core): a guess costs
 * an attacker who took the database as much as a sign-in costs keyhold. The parameters are kept
 * in each stored hash, so raising them later leaves existing passwords working.
 */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const secret = Buffer.from(password, "utf8");
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r }, (error, key) => {
      secret.fill(0);
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** `scrypt$<log2 N>$<r>$<p>$<salt, base64>$<hash, base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, LOG_N, R, P);
  return `scrypt$${LOG_N}$${R}$${P}$${salt.toString("base64")}$${key.toString("base64")}`;
}

const STORED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** Whether the password is the one the stored hash was made of; compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5]!, "base64");
  const key = await derive(password, Buffer.from(m[4]!, "base64"), Number(m[1]), Number(m[2]), Number(m[3]));
  return expected.length === key.length && timingSafeEqual(key, expected);
}

let decoy: Promise<string> | undefined;

/**
 * A hash of no one's password, verified against when the user named has no password: an unknown
 * user then costs the same scrypt as a wrong password, and the answer comes as late.
 */
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString("base64"));
  return decoy;
}

/** The account password policy as UpdateAccountPasswordPolicy sets it (members left out take IAM's defaults). */
export interface PasswordPolicy {
  MinimumPasswordLength: number;
  RequireSymbols: boolean;
  RequireNumbers: boolean;
  RequireUppercaseCharacters: boolean;
  RequireLowercaseCharacters: boolean;
  AllowUsersToChangePassword: boolean;
  MaxPasswordAge?: number;
  PasswordReusePrevention?: number;
  HardExpiry?: boolean;
}

/** IAM's symbols: ! @ # $ % ^ & * ( ) _ + - = [ ] { } | ' */
const SYMBOL = /[!@#$%^&*()_+\-=[\]{}|']/;
const CLASSES = { upper: /[A-Z]/, lower: /[a-z]/, number: /[0-9]/, symbol: SYMBOL };

const violation = (message: string) => new ServiceError("PasswordPolicyViolation", message);

/**
 * The password meets the policy, or PasswordPolicyViolation saying what it lacks. With no policy
 * set, AWS's default applies: at least 8 characters, of at least three of the four kinds
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html).
 */
export function checkPasswordPolicy(policy: PasswordPolicy | undefined, password: string): void {
  if (policy === undefined) {
    if (password.length < 8) throw violation("Password should have a minimum length of 8");
    const kinds = Object.values(CLASSES).filter((c) => c.test(password)).length;
    if (kinds < 3) {
      throw violation("Password should have at least three of: uppercase letters, lowercase letters, numbers and symbols");
    }
    return;
  }
  if (password.length < policy.MinimumPasswordLength) {
    throw violation(`Password should have a minimum length of ${policy.MinimumPasswordLength}`);
  }
  if (policy.RequireUppercaseCharacters && !CLASSES.upper.test(password))
    throw violation("Password should have at least one uppercase letter");
  if (policy.RequireLowercaseCharacters && !CLASSES.lower.test(password))
    throw violation("Password should have at least one lowercase letter");
  if (policy.RequireNumbers && !CLASSES.number.test(password)) throw violation("Password should have at least one number");
  if (policy.RequireSymbols && !CLASSES.symbol.test(password)) throw violation("Password should have at least one symbol");
}

/** PasswordReusePrevention: the new password is none of the last n (hashes kept newest first). */
export async function checkReuse(policy: PasswordPolicy | undefined, password: string, previous: readonly string[]): Promise<void> {
  const n = policy?.PasswordReusePrevention;
  if (n === undefined) return;
  for (const hash of previous.slice(0, n)) {
    if (await verifyPassword(password, hash)) throw violation(`Password should not be one of your previous ${n} passwords`);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether a password set at `setAt` is past the policy's MaxPasswordAge at `now`. */
export function passwordExpired(policy: PasswordPolicy | undefined, setAt: number, now: number): boolean {
  return policy?.MaxPasswordAge !== undefined && now >= setAt + policy.MaxPasswordAge * DAY_MS;
}
