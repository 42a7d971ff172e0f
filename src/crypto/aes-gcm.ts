/**
 * AES-256-GCM through node:crypto, with the lengths checked before the primitive runs.
 * A sealed value is `iv (12) || ciphertext || tag (16)`. Any failure to open is reported as
 * `undefined`, never as a reason: callers turn it into their one opaque error.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync, type KeyObject } from "node:crypto";

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const KEY_LENGTH = 32;

export type RandomSource = (size: number) => Buffer;
export const systemRandom: RandomSource = (size) => randomBytes(size);

/**
 * IVs from a pool refilled from the CSPRNG 1024 IVs at a time: one system call instead of one per
 * request. IVs are public values, so holding upcoming ones in memory exposes nothing; key
 * material never comes from this pool.
 */
const IV_POOL = Buffer.allocUnsafeSlow(IV_LENGTH * 1024);
let ivOffset = IV_POOL.length;
export const ivRandom: RandomSource = (size) => {
  if (ivOffset + size > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + size));
  ivOffset += size;
  return iv;
};

export type AesKey = KeyObject | Buffer;

function checkKey(key: AesKey): void {
  const length = Buffer.isBuffer(key) ? key.length : key.symmetricKeySize;
  if (length !== KEY_LENGTH) throw new Error(`AES-256-GCM needs a ${KEY_LENGTH}-byte key, got ${length}`);
}

/** Encrypts into a caller-supplied layout: returns [ciphertext, tag] for the given iv. */
export function gcmEncrypt(key: AesKey, iv: Buffer, plaintext: Buffer, aad: Buffer): [Buffer, Buffer] {
  checkKey(key);
  if (iv.length !== IV_LENGTH) throw new Error(`AES-GCM needs a ${IV_LENGTH}-byte IV`);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  const ciphertext = final.length === 0 ? body : Buffer.concat([body, final]);
  return [ciphertext, cipher.getAuthTag()];
}

export function gcmDecrypt(key: AesKey, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer | undefined {
  checkKey(key);
  if (iv.length !== IV_LENGTH || tag.length !== TAG_LENGTH) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const body = decipher.update(ciphertext);
    const final = decipher.final();
    return final.length === 0 ? body : Buffer.concat([body, final]);
  } catch {
    return undefined;
  }
}

/** `iv || ciphertext || tag` with a fresh random IV. */
export function seal(key: AesKey, plaintext: Buffer, aad: Buffer, random: RandomSource = ivRandom): Buffer {
  const iv = random(IV_LENGTH);
  const [ciphertext, tag] = gcmEncrypt(key, iv, plaintext, aad);
  return Buffer.concat([iv, ciphertext, tag]);
}

export function open(key: AesKey, sealed: Buffer, aad: Buffer): Buffer | undefined {
  if (sealed.length < IV_LENGTH + TAG_LENGTH) return undefined;
  return gcmDecrypt(
    key,
    sealed.subarray(0, IV_LENGTH),
    sealed.subarray(IV_LENGTH, sealed.length - TAG_LENGTH),
    sealed.subarray(sealed.length - TAG_LENGTH),
    aad,
  );
}
