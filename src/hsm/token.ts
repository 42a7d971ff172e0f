/**
 * The one place keyhold speaks PKCS#11: a token (an HSM partition, a SoftHSM2 token, a YubiHSM 2)
 * opened through its vendor's module, holding AES-256 keys that are generated inside it and never
 * leave it in the clear. Nothing here is specific to one vendor: only PKCS#11 v2.40 calls, with
 * the AES key wrap with padding mechanism chosen from what the module lists.
 *
 * Why it is shaped this way:
 * - A module is a process-wide C library with one C_Initialize per process: it is loaded once per
 *   path and finalized when the last Token on it closes.
 * - A PKCS#11 session carries one cryptographic operation at a time, so a Token holds a small pool
 *   of sessions and each operation borrows one. Login state belongs to the application and token,
 *   not the session: one C_Login serves the pool, and closing the last session logs out.
 * - The calls that may take long (generate, encrypt, decrypt, wrap, unwrap) use pkcs11js's
 *   asynchronous variants, which run in libuv's thread pool, so a slow HSM does not stall the
 *   event loop that serves other requests (test/hsm-token.test.ts measures it). The module is
 *   initialized with CKF_OS_LOCKING_OK since those threads call it concurrently.
 * - Errors are one of five codes a person can act on; a PIN is never part of a message.
 */
import { createHmac, createPublicKey, randomBytes, timingSafeEqual } from "node:crypto";
import pkcs11js from "pkcs11js";

export interface TokenSpec {
  /** Path of the vendor's PKCS#11 module (.so). */
  module: string;
  /** The token's label (CKA_LABEL of the token, as `softhsm2-util --show-slots` or `pkcs11-tool -L` print it). */
  tokenLabel?: string;
  /** The slot id, when no label is given. */
  slot?: number;
}

export type TokenErrorCode =
  | "MODULE_NOT_LOADED"
  | "TOKEN_NOT_FOUND"
  | "TOKEN_NOT_INITIALIZED"
  | "INVALID_CREDENTIALS"
  | "DEVICE_ERROR"
  /** A ciphertext or wrapped key that does not open under the key (altered, truncated, another key). */
  | "DECRYPTION_FAILED"
  /** The key named by a KeyRef is not (or no longer) in the token. */
  | "KEY_NOT_FOUND";

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/** A key in the token, named by its label and CKA_ID; the object handle stays inside Token. */
export interface KeyRef {
  readonly label: string;
  readonly id: Buffer;
}

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const AES_256 = 32;
const POOL_SIZE = 4;
/** CKM_AES_KEY_WRAP_KWP (RFC 5649) in PKCS#11 v2.40; pkcs11js has no constant for it. */
const CKM_AES_KEY_WRAP_KWP = 0x0000210b;
/** CKM_AES_KEY_WRAP_PAD: what modules that predate KWP (SoftHSM2 2.6) list for the same RFC 5649 wrap. */
const CKM_AES_KEY_WRAP_PAD = 0x0000210a;
/** Enough for a wrapped AES-256 key under RFC 5649 (40 bytes) with room to spare. */
const WRAPPED_MAX = 512;
/** Bounds what a caller can ask the token to encrypt in one call (keyhold seals keys, not files). */
export const MAX_PLAINTEXT = 64 * 1024;
const LABEL_MAX = 128;

type Handle = Buffer;
type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;

/** A loaded module: one per path per process. */
interface LoadedModule {
  pkcs11: Pkcs11;
  users: number;
  /** Per slot: a keyed digest of the PIN that logged in, so a second open with another PIN is refused. */
  logins: Map<string, { pin: Buffer; sessions: number }>;
}

const modules = new Map<string, LoadedModule>();
/** Keys the in-process PIN digests; never leaves the process. */
const pinKey = randomBytes(32);

function pinDigest(pin: string): Buffer {
  return createHmac("sha256", pinKey).update(pin, "utf8").digest();
}

function rvName(error: unknown): string {
  return error instanceof Error ? error.message.split(/[\s:]/)[0]! : "unknown error";
}

function rvCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/** A PKCS#11 return value as one of our codes; `what` says what keyhold was doing. */
function deviceError(error: unknown, what: string): TokenError {
  if (error instanceof TokenError) return error;
  const code = rvCode(error);
  if (code === pkcs11js.CKR_OBJECT_HANDLE_INVALID || code === pkcs11js.CKR_KEY_HANDLE_INVALID) {
    return new TokenError("KEY_NOT_FOUND", `${what}: the key is not in the token`);
  }
  if (code === pkcs11js.CKR_PIN_INCORRECT || code === pkcs11js.CKR_PIN_INVALID || code === pkcs11js.CKR_PIN_LEN_RANGE) {
    return new TokenError("INVALID_CREDENTIALS", `${what}: the token refused the PIN (${rvName(error)})`);
  }
  if (code === pkcs11js.CKR_PIN_LOCKED || code === pkcs11js.CKR_PIN_EXPIRED) {
    return new TokenError("INVALID_CREDENTIALS", `${what}: the token's user PIN is locked or expired (${rvName(error)})`);
  }
  if (code === pkcs11js.CKR_USER_PIN_NOT_INITIALIZED) {
    return new TokenError("TOKEN_NOT_INITIALIZED", `${what}: the token has no user PIN set`);
  }
  return new TokenError("DEVICE_ERROR", `${what}: ${rvName(error)}`);
}

function loadModule(path: string): LoadedModule {
  const existing = modules.get(path);
  if (existing) {
    existing.users++;
    return existing;
  }
  const pkcs11 = new pkcs11js.PKCS11();
  try {
    pkcs11.load(path);
  } catch (error) {
    throw new TokenError("MODULE_NOT_LOADED", `cannot load the PKCS#11 module ${path}: ${firstLine(error)}`);
  }
  try {
    pkcs11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (error) {
    // Another library in this process initialized the module already: it is usable as it is.
    if (rvCode(error) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      closeQuietly(pkcs11);
      throw new TokenError("MODULE_NOT_LOADED", `the PKCS#11 module ${path} failed to initialize: ${rvName(error)}`);
    }
  }
  const loaded = { pkcs11, users: 1, logins: new Map() };
  modules.set(path, loaded);
  return loaded;
}

function releaseModule(path: string, loaded: LoadedModule): void {
  if (--loaded.users > 0) return;
  modules.delete(path);
  try {
    loaded.pkcs11.C_Finalize();
  } catch {
    // Finalizing a module that failed under us: nothing more to release.
  }
  closeQuietly(loaded.pkcs11);
}

function closeQuietly(pkcs11: Pkcs11): void {
  try {
    pkcs11.close();
  } catch {
    // the library could not be unloaded; the process keeps it mapped
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);
}

function trimmed(label: string): string {
  return label.replace(/[\s\0]+$/, "");
}

function checkLabel(label: string): void {
  if (label.length === 0 || Buffer.byteLength(label, "utf8") > LABEL_MAX) {
    throw new TokenError("DEVICE_ERROR", `a key label must be 1 to ${LABEL_MAX} bytes`);
  }
}

/** A KeyRef as Token hands it out: the handle found or made, kept out of the caller's view. */
class TokenKey implements KeyRef {
  constructor(
    readonly label: string,
    readonly id: Buffer,
    /** The object handle; valid for this application while the module stays initialized. */
    readonly handle: Handle,
  ) {}
}

export class Token {
  private readonly idle: Handle[] = [];
  private readonly waiting: Array<(session: Handle) => void> = [];
  private readonly handles = new Map<string, Handle>();
  private closed = false;
  /** Public operations begun and not yet finished; close waits for them. */
  private inFlight = 0;
  private drained: (() => void) | undefined;

  private constructor(
    private readonly loaded: LoadedModule,
    private readonly spec: TokenSpec,
    private readonly slotKey: string,
    private readonly sessions: Handle[],
    /** AES key wrap with padding as the module names it (KWP, else the pre-v2.40 PAD number). */
    readonly wrapMechanism: number,
    /** The token's label, as it reports it. */
    readonly label: string,
  ) {
    this.idle.push(...sessions);
  }

  /**
   * Loads the module (once per path per process), finds the token by label or slot, opens a pool
   * of read-write sessions and logs in as the token user. Fails with a TokenError and leaves
   * nothing open.
   */
  static async open(spec: TokenSpec, pin: string): Promise<Token> {
    const loaded = loadModule(spec.module);
    const pkcs11 = loaded.pkcs11;
    const opened: Handle[] = [];
    let slotKey: string | undefined;
    try {
      const { slot, label } = findSlot(pkcs11, spec);
      slotKey = slot.toString("hex");
      const mechanisms = new Set(pkcs11.C_GetMechanismList(slot));
      for (const needed of [pkcs11js.CKM_AES_GCM, pkcs11js.CKM_AES_KEY_GEN]) {
        if (!mechanisms.has(needed)) {
          throw new TokenError(
            "DEVICE_ERROR",
            `token "${label}" does not offer ${needed === pkcs11js.CKM_AES_GCM ? "CKM_AES_GCM" : "CKM_AES_KEY_GEN"}`,
          );
        }
      }
      const wrapMechanism = mechanisms.has(CKM_AES_KEY_WRAP_KWP) ? CKM_AES_KEY_WRAP_KWP : CKM_AES_KEY_WRAP_PAD;
      for (let i = 0; i < POOL_SIZE; i++) {
        opened.push(pkcs11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION));
      }
      login(loaded, slotKey, opened[0]!, pin, label);
      const login_ = loaded.logins.get(slotKey)!;
      login_.sessions += opened.length;
      return new Token(loaded, spec, slotKey, opened, wrapMechanism, label);
    } catch (error) {
      for (const session of opened) {
        try {
          pkcs11.C_CloseSession(session);
        } catch {
          // already gone with the token
        }
      }
      if (slotKey !== undefined && loaded.logins.get(slotKey)?.sessions === 0) loaded.logins.delete(slotKey);
      releaseModule(spec.module, loaded);
      throw deviceError(error, `cannot open ${describeSpec(spec)}`);
    }
  }

  /** Generates an AES-256 key inside the token: a token object, private, sensitive, not extractable unless asked. */
  async generateAesKey(label: string, id: Buffer, opts: { extractable?: boolean } = {}): Promise<KeyRef> {
    return this.op("generate a key", async () => {
      checkLabel(label);
      const template = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: AES_256 },
        ...keyAttributes(label, id, opts.extractable === true),
      ];
      const handle = await this.withSession("generate a key", (session) =>
        this.pkcs11.C_GenerateKeyAsync(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, template),
      );
      this.handles.set(label, handle);
      return new TokenKey(label, Buffer.from(id), handle);
    });
  }

  /** The key with this label, or undefined. */
  async findKey(label: string): Promise<KeyRef | undefined> {
    return this.op("find a key", async () => {
      checkLabel(label);
      const found = await this.withSession("find a key", async (session) => {
        const handles = findObjects(this.pkcs11, session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_LABEL, value: label },
        ]);
        if (handles.length !== 1) return { count: handles.length };
        const [idAttr] = this.pkcs11.C_GetAttributeValue(session, handles[0]!, [{ type: pkcs11js.CKA_ID }]);
        return { count: 1, handle: handles[0]!, id: (idAttr?.value as Buffer | undefined) ?? Buffer.alloc(0) };
      });
      if (found.count === 0) return undefined;
      if (found.count > 1) throw new TokenError("DEVICE_ERROR", `the token holds ${found.count} keys labelled "${label}"`);
      const handle = found.handle!;
      this.handles.set(label, handle);
      return new TokenKey(label, Buffer.from(found.id!), handle);
    });
  }

  /** AES-256-GCM in the token with a fresh 96-bit IV; returns iv | ciphertext | tag. */
  async encrypt(key: KeyRef, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return this.op("encrypt", async () => {
      if (plaintext.length > MAX_PLAINTEXT)
        throw new TokenError("DEVICE_ERROR", `at most ${MAX_PLAINTEXT} bytes are encrypted in the token at once`);
      const iv = await this.withSession("draw an IV", async (session) => this.pkcs11.C_GenerateRandom(session, Buffer.alloc(IV_LENGTH)));
      const out = await this.withKey(key, "encrypt", async (session, handle) => {
        this.pkcs11.C_EncryptInit(session, gcm(iv, aad), handle);
        return this.pkcs11.C_EncryptAsync(session, plaintext, Buffer.alloc(plaintext.length + TAG_LENGTH));
      });
      return Buffer.concat([iv, out]);
    });
  }

  /** Reverses encrypt; an altered, truncated or foreign value fails with DECRYPTION_FAILED. */
  async decrypt(key: KeyRef, sealed: Buffer, aad: Buffer): Promise<Buffer> {
    return this.op("decrypt", async () => {
      if (sealed.length < IV_LENGTH + TAG_LENGTH || sealed.length > MAX_PLAINTEXT + IV_LENGTH + TAG_LENGTH) {
        throw new TokenError("DECRYPTION_FAILED", "the sealed value does not open under the key");
      }
      const iv = sealed.subarray(0, IV_LENGTH);
      const body = sealed.subarray(IV_LENGTH);
      return this.withKey(key, "decrypt", async (session, handle) => {
        this.pkcs11.C_DecryptInit(session, gcm(iv, aad), handle);
        try {
          return await this.pkcs11.C_DecryptAsync(session, body, Buffer.alloc(body.length));
        } catch (error) {
          // Modules disagree on the return value of a failed GCM tag check (CKR_ENCRYPTED_DATA_INVALID
          // in the standard, CKR_GENERAL_ERROR from SoftHSM2): a decrypt that the token ran and
          // refused is a value that does not open, while a token that is gone says so otherwise.
          if (failedOpening(error)) throw new TokenError("DECRYPTION_FAILED", "the sealed value does not open under the key");
          throw error;
        }
      });
    });
  }

  /** Wraps `key` under `wrappingKey` with AES key wrap with padding (RFC 5649), inside the token. */
  async wrap(wrappingKey: KeyRef, key: KeyRef): Promise<Buffer> {
    return this.op("wrap a key", async () => {
      const target = await this.resolve(key, "wrap a key");
      return this.withKey(wrappingKey, "wrap a key", (session, wrapping) =>
        this.pkcs11.C_WrapKeyAsync(session, { mechanism: this.wrapMechanism }, wrapping, target, Buffer.alloc(WRAPPED_MAX)),
      );
    });
  }

  /** Unwraps a key wrapped by wrap into a new token key: sensitive and not extractable. */
  async unwrap(wrappingKey: KeyRef, wrapped: Buffer, label: string, id: Buffer): Promise<KeyRef> {
    return this.op("unwrap a key", async () => {
      checkLabel(label);
      if (wrapped.length > WRAPPED_MAX) throw new TokenError("DECRYPTION_FAILED", "the wrapped key does not open under the wrapping key");
      const template = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        ...keyAttributes(label, id, false),
      ];
      const handle = await this.withKey(wrappingKey, "unwrap a key", async (session, wrapping) => {
        try {
          return await this.pkcs11.C_UnwrapKeyAsync(session, { mechanism: this.wrapMechanism }, wrapping, wrapped, template);
        } catch (error) {
          if (
            failedOpening(error) ||
            rvCode(error) === pkcs11js.CKR_WRAPPED_KEY_INVALID ||
            rvCode(error) === pkcs11js.CKR_WRAPPED_KEY_LEN_RANGE
          ) {
            throw new TokenError("DECRYPTION_FAILED", "the wrapped key does not open under the wrapping key");
          }
          throw error;
        }
      });
      this.handles.set(label, handle);
      return new TokenKey(label, Buffer.from(id), handle);
    });
  }

  /** Clears CKA_EXTRACTABLE (PKCS#11 lets it go from true to false, never back). */
  async setNotExtractable(key: KeyRef): Promise<void> {
    return this.op("make a key non-extractable", async () => {
      await this.withKey(key, "make a key non-extractable", async (session, handle) => {
        this.pkcs11.C_SetAttributeValue(session, handle, [{ type: pkcs11js.CKA_EXTRACTABLE, value: false }]);
      });
    });
  }

  /** Destroys the key in the token. */
  async destroy(key: KeyRef): Promise<void> {
    return this.op("destroy a key", async () => {
      await this.withKey(key, "destroy a key", async (session, handle) => {
        this.pkcs11.C_DestroyObject(session, handle);
      });
      this.handles.delete(key.label);
    });
  }

  /** Destroys every secret key whose label starts with `prefix`; returns how many. */
  async destroyByLabelPrefix(prefix: string): Promise<number> {
    return this.op("destroy keys", async () => {
      if (prefix.length === 0) throw new TokenError("DEVICE_ERROR", "refusing to destroy every key in the token: give a label prefix");
      return this.withSession("destroy keys", async (session) => {
        const all = findObjects(this.pkcs11, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }]);
        let destroyed = 0;
        for (const handle of all) {
          const [attr] = this.pkcs11.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_LABEL }]);
          const label = (attr?.value as Buffer | undefined)?.toString("utf8") ?? "";
          if (!label.startsWith(prefix)) continue;
          this.pkcs11.C_DestroyObject(session, handle);
          this.handles.delete(label);
          destroyed++;
        }
        return destroyed;
      });
    });
  }

  // ---- added on branch h-hsmstore (custom key stores, issue 20 §3) ----------------------------
  /**
   * A transport key made from bytes the caller holds: a session object (CKA_TOKEN false, gone
   * when this Token closes), sensitive, not extractable, able only to wrap and unwrap. keyhold
   * uses one once per cluster, so that a cluster's wrapping key, generated in one token, reaches
   * the others without ever being outside a token in the clear (src/hsm/cluster-setup.ts).
   */
  async importTransportKey(label: string, id: Buffer, value: Buffer): Promise<KeyRef> {
    return this.op("import a transport key", async () => {
      checkLabel(label);
      if (value.length !== AES_256) throw new TokenError("DEVICE_ERROR", "a transport key is 32 bytes");
      const handle = await this.withSession("import a transport key", async (session) =>
        this.pkcs11.C_CreateObject(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_TOKEN, value: false },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_ENCRYPT, value: false },
          { type: pkcs11js.CKA_DECRYPT, value: false },
          { type: pkcs11js.CKA_WRAP, value: true },
          { type: pkcs11js.CKA_UNWRAP, value: true },
          { type: pkcs11js.CKA_LABEL, value: label },
          { type: pkcs11js.CKA_ID, value: id },
          { type: pkcs11js.CKA_VALUE, value },
        ]),
      );
      this.handles.set(label, handle);
      return new TokenKey(label, Buffer.from(id), handle);
    });
  }

  // ---- added on branch h-pcakeys (private CA keys in the token, issue 24) ----------------------
  /**
   * Generates a signing key pair inside the token (the private CA's key): the private key a token
   * object, private, sensitive, never extractable, able only to sign; the public key a token
   * object beside it with the same label and CKA_ID. Returns the private key and the public key as
   * DER SubjectPublicKeyInfo.
   */
  async generateSigningKeyPair(label: string, id: Buffer, algorithm: SigningKeyAlgorithm): Promise<{ key: KeyRef; spki: Buffer }> {
    return this.op("generate a key pair", async () => {
      checkLabel(label);
      const common = [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_ID, value: id },
      ];
      const publicTemplate = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        ...common,
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: false },
        { type: pkcs11js.CKA_WRAP, value: false },
        ...(algorithm.kind === "rsa"
          ? [
              { type: pkcs11js.CKA_MODULUS_BITS, value: algorithm.bits },
              { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
            ]
          : [{ type: pkcs11js.CKA_EC_PARAMS, value: EC_CURVES[algorithm.curve].params }]),
      ];
      const privateTemplate = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_DERIVE, value: false },
      ];
      const mechanism = algorithm.kind === "rsa" ? pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN : pkcs11js.CKM_EC_KEY_PAIR_GEN;
      const { spki, privateKey } = await this.withSession("generate a key pair", async (session) => {
        const pair = await this.pkcs11.C_GenerateKeyPairAsync(session, { mechanism }, publicTemplate, privateTemplate);
        const jwk =
          algorithm.kind === "rsa"
            ? rsaJwk(
                this.pkcs11.C_GetAttributeValue(session, pair.publicKey, [
                  { type: pkcs11js.CKA_MODULUS },
                  { type: pkcs11js.CKA_PUBLIC_EXPONENT },
                ]),
              )
            : ecJwk(algorithm.curve, this.pkcs11.C_GetAttributeValue(session, pair.publicKey, [{ type: pkcs11js.CKA_EC_POINT }]));
        return { spki: createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "der" }), privateKey: pair.privateKey };
      });
      this.privateHandles.set(label, privateKey);
      return { key: new TokenKey(label, Buffer.from(id), privateKey), spki };
    });
  }

  /** Signs `data` with a private key of the token (CKM_SHA256_RSA_PKCS, CKM_ECDSA over a digest, …); the raw signature the mechanism gives. */
  async sign(key: KeyRef, mechanism: number, data: Buffer): Promise<Buffer> {
    return this.op("sign", async () => {
      const handle = await this.resolvePrivate(key, "sign");
      try {
        return await this.withSession("sign", async (session) => {
          this.pkcs11.C_SignInit(session, { mechanism }, handle);
          return this.pkcs11.C_SignAsync(session, data, Buffer.alloc(SIGNATURE_MAX));
        });
      } catch (error) {
        this.privateHandles.delete(key.label);
        throw error;
      }
    });
  }

  /** Whether the token holds the private key `label` (and CKA_ID `id`). */
  async hasPrivateKey(key: KeyRef): Promise<boolean> {
    return this.op("find a key", async () => {
      try {
        await this.resolvePrivate(key, "find a key");
        return true;
      } catch (error) {
        if (error instanceof TokenError && error.code === "KEY_NOT_FOUND") return false;
        throw error;
      }
    });
  }

  /** Destroys the key pair (private and public objects) labelled `label`; returns how many objects. */
  async destroyKeyPair(label: string): Promise<number> {
    return this.op("destroy a key pair", async () => {
      checkLabel(label);
      this.privateHandles.delete(label);
      return this.withSession("destroy a key pair", async (session) => {
        let destroyed = 0;
        for (const cls of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
          for (const handle of findObjects(this.pkcs11, session, [
            { type: pkcs11js.CKA_CLASS, value: cls },
            { type: pkcs11js.CKA_LABEL, value: label },
          ])) {
            this.pkcs11.C_DestroyObject(session, handle);
            destroyed++;
          }
        }
        return destroyed;
      });
    });
  }

  private readonly privateHandles = new Map<string, Handle>();

  private async resolvePrivate(key: KeyRef, what: string): Promise<Handle> {
    const cached = this.privateHandles.get(key.label);
    if (cached) return cached;
    const found = await this.withSession(what, async (session) =>
      findObjects(this.pkcs11, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: key.label },
        { type: pkcs11js.CKA_ID, value: key.id },
      ]),
    );
    if (found.length !== 1) throw new TokenError("KEY_NOT_FOUND", `cannot ${what}: the key "${key.label}" is not in token "${this.label}"`);
    this.privateHandles.set(key.label, found[0]!);
    return found[0]!;
  }

  /** Random bytes from the token's generator. */
  async random(length: number): Promise<Buffer> {
    return this.op("draw random bytes", async () => {
      if (!Number.isInteger(length) || length < 1 || length > 1024)
        throw new TokenError("DEVICE_ERROR", "random length must be 1 to 1024 bytes");
      return this.withSession("draw random bytes", async (session) => this.pkcs11.C_GenerateRandom(session, Buffer.alloc(length)));
    });
  }

  /** Closes the sessions once the operations in flight finish; the last Token on a module finalizes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // An operation begun before close finishes on an open session; later ones are refused.
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    for (const session of this.sessions) {
      try {
        this.pkcs11.C_CloseSession(session);
      } catch {
        // the token is gone; its sessions with it
      }
    }
    const login_ = this.loaded.logins.get(this.slotKey);
    if (login_ && (login_.sessions -= this.sessions.length) <= 0) this.loaded.logins.delete(this.slotKey);
    releaseModule(this.spec.module, this.loaded);
  }

  /** Counts a public operation in flight, refusing new ones once close began. */
  private async op<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new TokenError("DEVICE_ERROR", `cannot ${what}: the token was closed`);
    this.inFlight++;
    try {
      return await run();
    } finally {
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }

  private get pkcs11(): Pkcs11 {
    return this.loaded.pkcs11;
  }

  private async withSession<T>(what: string, run: (session: Handle) => Promise<T>): Promise<T> {
    const session = this.idle.pop() ?? (await new Promise<Handle>((resolve) => this.waiting.push(resolve)));
    try {
      return await run(session);
    } catch (error) {
      throw deviceError(error, `cannot ${what} in token "${this.label}"`);
    } finally {
      const next = this.waiting.shift();
      if (next) next(session);
      else this.idle.push(session);
    }
  }

  /** Runs `run` with the key's handle; a stale handle (the key destroyed and remade) is looked up once more. */
  private async withKey<T>(key: KeyRef, what: string, run: (session: Handle, handle: Handle) => Promise<T>): Promise<T> {
    const handle = await this.resolve(key, what);
    try {
      return await this.withSession(what, (session) => run(session, handle));
    } catch (error) {
      if (!(error instanceof TokenError) || error.code !== "KEY_NOT_FOUND") throw error;
      this.handles.delete(key.label);
      const again = await this.resolve(key, what);
      return this.withSession(what, (session) => run(session, again));
    }
  }

  private async resolve(key: KeyRef, what: string): Promise<Handle> {
    if (key instanceof TokenKey && this.handles.get(key.label)?.equals(key.handle)) return key.handle;
    const cached = this.handles.get(key.label);
    if (cached) return cached;
    const found = await this.withSession(what, async (session) =>
      findObjects(this.pkcs11, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_LABEL, value: key.label },
        { type: pkcs11js.CKA_ID, value: key.id },
      ]),
    );
    if (found.length !== 1) throw new TokenError("KEY_NOT_FOUND", `cannot ${what}: the key "${key.label}" is not in token "${this.label}"`);
    this.handles.set(key.label, found[0]!);
    return found[0]!;
  }
}

/** A signing key pair the token generates: RSA of a modulus size, or EC on a NIST curve. */
export type SigningKeyAlgorithm = { kind: "rsa"; bits: 2048 | 3072 | 4096 } | { kind: "ec"; curve: "P-256" | "P-384" | "P-521" };

/** The named curves: CKA_EC_PARAMS (the DER of the curve's OID) and the length of a coordinate. */
const EC_CURVES = {
  "P-256": { params: Buffer.from("06082a8648ce3d030107", "hex"), size: 32 },
  "P-384": { params: Buffer.from("06052b81040022", "hex"), size: 48 },
  "P-521": { params: Buffer.from("06052b81040023", "hex"), size: 66 },
} as const;

/** Enough for an RSA-4096 signature (512 bytes) or a P-521 r|s (132). */
const SIGNATURE_MAX = 1024;

function rsaJwk(attrs: Array<{ value?: unknown }>) {
  const [modulus, exponent] = attrs.map((a) => a.value as Buffer);
  return { kty: "RSA", n: modulus!.toString("base64url"), e: exponent!.toString("base64url") };
}

/** CKA_EC_POINT is the DER OCTET STRING of the uncompressed point (some modules give the bare point). */
function ecJwk(curve: keyof typeof EC_CURVES, attrs: Array<{ value?: unknown }>) {
  const size = EC_CURVES[curve].size;
  let point = attrs[0]!.value as Buffer;
  if (point.length !== 1 + 2 * size) point = point.subarray(point.length - (1 + 2 * size));
  if (point[0] !== 0x04) throw new TokenError("DEVICE_ERROR", "the token returned an EC public key that is not an uncompressed point");
  return { kty: "EC", crv: curve, x: point.subarray(1, 1 + size).toString("base64url"), y: point.subarray(1 + size).toString("base64url") };
}

function keyAttributes(label: string, id: Buffer, extractable: boolean) {
  return [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: extractable },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: true },
    { type: pkcs11js.CKA_UNWRAP, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
}

function gcm(iv: Buffer, aad: Buffer) {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, ivBits: IV_LENGTH * 8, aad, tagBits: TAG_LENGTH * 8 },
  };
}

/** A return value that means "the token ran the operation and the input did not open". */
function failedOpening(error: unknown): boolean {
  const code = rvCode(error);
  return (
    code === pkcs11js.CKR_ENCRYPTED_DATA_INVALID ||
    code === pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE ||
    code === pkcs11js.CKR_GENERAL_ERROR ||
    code === pkcs11js.CKR_FUNCTION_FAILED
  );
}

function findObjects(
  pkcs11: Pkcs11,
  session: Handle,
  template: Array<{ type: number; value: number | boolean | string | Buffer }>,
): Handle[] {
  pkcs11.C_FindObjectsInit(session, template);
  try {
    const all: Handle[] = [];
    for (;;) {
      const batch = pkcs11.C_FindObjects(session, 64);
      all.push(...batch);
      if (batch.length < 64) return all;
    }
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

function describeSpec(spec: TokenSpec): string {
  const which = spec.tokenLabel !== undefined ? `token "${spec.tokenLabel}"` : spec.slot !== undefined ? `slot ${spec.slot}` : "the token";
  return `${which} of PKCS#11 module ${spec.module}`;
}

function findSlot(pkcs11: Pkcs11, spec: TokenSpec): { slot: Handle; label: string } {
  if ((spec.tokenLabel === undefined) === (spec.slot === undefined)) {
    throw new TokenError("TOKEN_NOT_FOUND", "name the token by its label or by its slot, one of the two");
  }
  const slots = pkcs11.C_GetSlotList(true);
  for (const slot of slots) {
    const info = pkcs11.C_GetTokenInfo(slot);
    const label = trimmed(info.label);
    const matches = spec.tokenLabel !== undefined ? label === spec.tokenLabel : slotNumber(slot) === spec.slot;
    if (!matches) continue;
    if ((info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0) {
      throw new TokenError(
        "TOKEN_NOT_INITIALIZED",
        `${describeSpec(spec)} is not initialized (initialize it with the vendor's tool first)`,
      );
    }
    if ((info.flags & pkcs11js.CKF_USER_PIN_INITIALIZED) === 0) {
      throw new TokenError("TOKEN_NOT_INITIALIZED", `${describeSpec(spec)} has no user PIN set (set one with the vendor's tool first)`);
    }
    return { slot, label };
  }
  const labels = slots.map((s) => trimmed(pkcs11.C_GetTokenInfo(s).label)).filter((l) => l.length > 0);
  throw new TokenError(
    "TOKEN_NOT_FOUND",
    `${describeSpec(spec)} not found${labels.length > 0 ? ` (the module shows ${labels.map((l) => `"${l}"`).join(", ")})` : " (the module shows no token)"}`,
  );
}

/** A slot id handle (CK_SLOT_ID, little-endian unsigned long) as a number. */
function slotNumber(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

/**
 * Logs in as the token user. The login belongs to the application: a second Token on the same
 * slot of the same module finds the user logged in already, and its PIN is then checked against
 * the one that logged in (a keyed digest, compared in constant time), so a wrong PIN never rides
 * on another caller's login.
 */
function login(loaded: LoadedModule, slotKey: string, session: Handle, pin: string, label: string): void {
  const digest = pinDigest(pin);
  const existing = loaded.logins.get(slotKey);
  if (existing) {
    if (!timingSafeEqual(existing.pin, digest)) throw new TokenError("INVALID_CREDENTIALS", `token "${label}" refused the PIN`);
    return;
  }
  try {
    loaded.pkcs11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (error) {
    if (rvCode(error) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
      const e = deviceError(error, `cannot log in to token "${label}"`);
      throw e.code === "INVALID_CREDENTIALS"
        ? new TokenError("INVALID_CREDENTIALS", `token "${label}" refused the PIN (${rvName(error)})`)
        : e;
    }
    // Logged in by something else in this process that keyhold does not track: the PIN cannot be
    // checked by logging in again, so refuse rather than trust it.
    throw new TokenError("INVALID_CREDENTIALS", `token "${label}" is already logged in by another user of the module in this process`);
  }
  loaded.logins.set(slotKey, { pin: digest, sessions: 0 });
}
