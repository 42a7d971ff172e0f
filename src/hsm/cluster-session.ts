/**
 * An open cluster: a session on each token of an HSM cluster that can be reached, and the
 * cryptography a custom key store's keys need, run in whichever token answers.
 *
 * Availability (docs/hsm.md): every key exists in every token. It is generated once, in one
 * token, extractable only until it has been wrapped under the cluster's wrapping key (which every
 * token holds, non-extractable); the wrapped copy goes to the repository and into the other
 * tokens, and the key is then made non-extractable everywhere. A token that is gone is skipped;
 * when it comes back, the keys made meanwhile are unwrapped into it from their stored copies.
 */
import { Token, TokenError, type KeyRef, type TokenErrorCode, type TokenSpec } from "./token.js";
import { clusterWrapLabel, tokenName, type ClusterRecord, type ClusterToken } from "./clusters.js";

/** ConnectionErrorCode values a CloudHSM key store can fail with (the KMS model's enum). */
export type ConnectionErrorCode =
  | "INVALID_CREDENTIALS"
  | "CLUSTER_NOT_FOUND"
  | "NETWORK_ERRORS"
  | "INTERNAL_ERROR"
  | "INSUFFICIENT_CLOUDHSM_HSMS"
  | "USER_LOCKED_OUT"
  | "USER_NOT_FOUND"
  | "USER_LOGGED_IN";

/** The cluster cannot be used: why, as the ConnectionErrorCode DescribeCustomKeyStores shows. */
export class ClusterUnavailable extends Error {
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A token's failure as the connection error it means for the store. */
export function connectionError(code: TokenErrorCode | undefined): ConnectionErrorCode {
  switch (code) {
    case "INVALID_CREDENTIALS":
      return "INVALID_CREDENTIALS";
    case "TOKEN_NOT_INITIALIZED":
      // A token without its user is a cluster without KMS's crypto user (kmsuser).
      return "USER_NOT_FOUND";
    case "TOKEN_NOT_FOUND":
    case "MODULE_NOT_LOADED":
      return "NETWORK_ERRORS";
    default:
      return "INTERNAL_ERROR";
  }
}

export type TokenOpener = (spec: TokenSpec, pin: string) => Promise<Token>;

interface Member {
  readonly spec: ClusterToken;
  token?: Token;
  wrapKey?: KeyRef;
  /** Key handles found by label, dropped when the token is reopened. */
  keys: Map<string, KeyRef>;
  lastError?: ConnectionErrorCode;
}

export class ClusterSession {
  private readonly members: Member[];

  private constructor(
    readonly cluster: ClusterRecord,
    private readonly pin: string,
    private readonly opener: TokenOpener,
  ) {
    this.members = cluster.tokens.map((spec) => ({ spec, keys: new Map() }));
  }

  /**
   * Opens every token it can. Fails (ClusterUnavailable) when the cluster has fewer than two
   * tokens (as AWS requires two HSMs), when a PIN is refused (a wrong KeyStorePassword is a
   * configuration error, not an outage: it must show), or when no token can be reached.
   */
  static async open(cluster: ClusterRecord, pin: string, opener: TokenOpener = (s, p) => Token.open(s, p)): Promise<ClusterSession> {
    if (cluster.tokens.length < 2) {
      throw new ClusterUnavailable(
        "INSUFFICIENT_CLOUDHSM_HSMS",
        `${cluster.clusterId} has ${cluster.tokens.length} token; two are needed.`,
      );
    }
    const session = new ClusterSession(cluster, pin, opener);
    await Promise.all(session.members.map((m) => session.openMember(m)));
    const refused = session.members.find((m) => m.lastError === "INVALID_CREDENTIALS" || m.lastError === "USER_NOT_FOUND");
    if (refused || session.reachable() === 0) {
      await session.close();
      const code = refused?.lastError ?? session.members[0]!.lastError ?? "NETWORK_ERRORS";
      throw new ClusterUnavailable(code, `${cluster.clusterId}: no token of the cluster can be used (${code}).`);
    }
    return session;
  }

  private async openMember(m: Member): Promise<boolean> {
    try {
      const token = await this.opener({ module: this.cluster.module, ...m.spec }, this.pin);
      const wrapKey = await token.findKey(clusterWrapLabel(this.cluster.clusterId));
      if (!wrapKey) {
        // A token without the cluster's wrapping key is not (or no longer: zeroized) a member.
        await token.close().catch(() => {});
        m.lastError = "INTERNAL_ERROR";
        return false;
      }
      m.token = token;
      m.wrapKey = wrapKey;
      m.keys.clear();
      m.lastError = undefined;
      return true;
    } catch (error) {
      m.lastError = connectionError(error instanceof TokenError ? error.code : undefined);
      return false;
    }
  }

  /** Tokens reachable now. */
  reachable(): number {
    return this.members.filter((m) => m.token !== undefined).length;
  }

  total(): number {
    return this.members.length;
  }

  /** Per token of the cluster: reachable or not (DescribeClusters shows its HSMs). */
  status(): { spec: ClusterToken; up: boolean }[] {
    return this.members.map((m) => ({ spec: m.spec, up: m.token !== undefined }));
  }

  /**
   * Tries again the tokens that were gone; the ones that answer now are returned so the caller
   * copies into them the keys made meanwhile.
   */
  async reopenAbsent(): Promise<number> {
    let back = 0;
    for (const m of this.members) if (m.token === undefined && (await this.openMember(m))) back++;
    return back;
  }

  private async markDown(m: Member): Promise<void> {
    const token = m.token;
    m.token = undefined;
    m.wrapKey = undefined;
    m.keys.clear();
    m.lastError = "NETWORK_ERRORS";
    await token?.close().catch(() => {});
  }

  /** Whether the token still answers: tells a refused input from a token that is gone. */
  private async healthy(m: Member): Promise<boolean> {
    try {
      await m.token!.random(1);
      return true;
    } catch {
      return false;
    }
  }

  private async keyIn(m: Member, label: string): Promise<KeyRef | undefined> {
    let ref = m.keys.get(label);
    if (!ref) {
      ref = await m.token!.findKey(label);
      if (ref) m.keys.set(label, ref);
    }
    return ref;
  }

  /**
   * Runs `fn` on the first reachable token that holds `label` (any token when undefined). A token
   * that fails and no longer answers is marked gone and the next one is tried; a failure of a
   * token that still answers is the input's (a ciphertext that does not open) and is thrown.
   */
  private async run<T>(label: string | undefined, fn: (token: Token, key: KeyRef | undefined) => Promise<T>): Promise<T> {
    let inputError: unknown;
    for (const m of this.members) {
      if (!m.token) continue;
      let key: KeyRef | undefined;
      try {
        key = label === undefined ? undefined : await this.keyIn(m, label);
        if (label !== undefined && !key) continue; // not (yet) in this token
        return await fn(m.token, key);
      } catch (error) {
        // A value that does not open is the same in every token: no point asking the next.
        if (error instanceof TokenError && error.code === "DECRYPTION_FAILED") throw error;
        if (error instanceof TokenError && error.code === "KEY_NOT_FOUND") {
          if (label !== undefined) m.keys.delete(label);
          continue;
        }
        if (await this.healthy(m)) {
          inputError ??= error;
          continue;
        }
        await this.markDown(m);
      }
    }
    if (inputError !== undefined) throw inputError;
    throw new ClusterUnavailable("NETWORK_ERRORS", `no reachable token of ${this.cluster.clusterId} holds the key`);
  }

  encrypt(label: string, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    return this.run(label, (t, k) => t.encrypt(k!, plaintext, aad));
  }

  decrypt(label: string, sealed: Buffer, aad: Buffer): Promise<Buffer> {
    return this.run(label, (t, k) => t.decrypt(k!, sealed, aad));
  }

  random(length: number): Promise<Buffer> {
    return this.run(undefined, (t) => t.random(length));
  }

  /**
   * Makes a key in one token and copies it into the others; returns its copy wrapped under the
   * cluster's wrapping key, for the repository. Extractable only between its generation and its
   * wrapping, in the token that made it.
   */
  async generateKey(label: string, id: Buffer): Promise<Buffer> {
    for (const m of this.members) {
      if (!m.token) continue;
      let made: KeyRef | undefined;
      try {
        made = await m.token.generateAesKey(label, id, { extractable: true });
        const wrapped = await m.token.wrap(m.wrapKey!, made);
        await m.token.setNotExtractable(made);
        m.keys.set(label, made);
        for (const other of this.members) if (other !== m && other.token) await this.copyInto(other, label, id, wrapped);
        return wrapped;
      } catch (error) {
        if (made) await m.token?.destroy(made).catch(() => {});
        if (await this.healthy(m)) throw error;
        await this.markDown(m);
      }
    }
    throw new ClusterUnavailable("NETWORK_ERRORS", `no token of ${this.cluster.clusterId} can be reached`);
  }

  /** Puts a stored key into a token that lacks it (made while the token was gone). */
  private async copyInto(m: Member, label: string, id: Buffer, wrapped: Buffer): Promise<void> {
    try {
      if (await this.keyIn(m, label)) return;
      const ref = await m.token!.unwrap(m.wrapKey!, wrapped, label, id);
      await m.token!.setNotExtractable(ref);
      m.keys.set(label, ref);
    } catch {
      // It comes back later: the copy is made again on the next resync.
      if (!(await this.healthy(m))) await this.markDown(m);
    }
  }

  /** Copies a stored key into every reachable token that lacks it. */
  async ensure(label: string, id: Buffer, wrapped: Buffer): Promise<void> {
    for (const m of this.members) if (m.token) await this.copyInto(m, label, id, wrapped);
  }

  /** Destroys a key in every reachable token; whether every token of the cluster was reached. */
  async destroy(label: string): Promise<boolean> {
    let all = true;
    for (const m of this.members) {
      if (!m.token) {
        all = false;
        continue;
      }
      try {
        const ref = await this.keyIn(m, label);
        if (ref) await m.token.destroy(ref);
        m.keys.delete(label);
      } catch {
        all = false;
        if (!(await this.healthy(m))) await this.markDown(m);
      }
    }
    return all;
  }

  describeMembers(): string {
    return this.members.map((m) => `${tokenName(m.spec)} ${m.token ? "up" : `down (${m.lastError ?? "?"})`}`).join(", ");
  }

  async close(): Promise<void> {
    for (const m of this.members) if (m.token) await m.token.close().catch(() => {});
    for (const m of this.members) {
      m.token = undefined;
      m.wrapKey = undefined;
      m.keys.clear();
    }
  }
}
