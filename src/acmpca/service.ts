/**
 * The ACM Private CA layer shared by the operations: certificate authorities (documents, one per
 * CA id in its account), their states, authorization with acm-pca actions and the CA's resource
 * policy, and the CA's private key: generated with node:crypto, wrapped under keyhold's root key
 * exactly as KMS key material is (the key store, bound to the CA's ARN), unwrapped only into a
 * KeyObject in memory, and signing through the same code as KMS's Sign (crypto/asymmetric.ts).
 * docs/private-ca.md.
 */
import { createSecretKey, generateKeyPair, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import { accessDenied, type Authorizer } from "../iam/authorizer.js";
import { ContextValues } from "../iam/conditions.js";
import { compilePolicy } from "../iam/policy.js";
import type { KeyStore } from "../keystore/keystore.js";
import { Lru } from "../lru.js";
import { publicKeyDer, signMessage, takePrivateKey } from "../crypto/asymmetric.js";
import { isMlDsa, mlDsaPublicKeyDer, mlDsaSign, newMlDsaSeed } from "../crypto/ml-dsa.js";
import { DocumentGroupCommit } from "../store/group-commit.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord } from "../store/records.js";
import { SIGNING_ALGORITHMS, type Signer } from "./x509.js";
import type { CrlPublisher } from "./crl.js";
import { noHsm, type HsmCaKeys, type HsmKeyRef } from "./hsm-keys.js";

export const CA_RESOURCE_TYPE = "AWS::ACMPCA::CertificateAuthority";
export const CA_KIND = "acmpca-authority";
export const CERT_KIND = "acmpca-certificate";

export const MAX_TAGS = 50;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * KeyAlgorithm → the SigningAlgorithm family it signs with, and how node:crypto makes the pair
 * (ML-DSA: none; its key is a 32-byte seed, src/crypto/ml-dsa.ts, and its family is its own
 * parameter set, so ML_DSA_65 signs only with ML_DSA_65).
 */
export const KEY_ALGORITHMS: Readonly<Record<string, { family: string; generate?: () => Promise<KeyObject> }>> = Object.freeze({
  RSA_2048: { family: "RSA", generate: () => rsa(2048) },
  RSA_3072: { family: "RSA", generate: () => rsa(3072) },
  RSA_4096: { family: "RSA", generate: () => rsa(4096) },
  EC_prime256v1: { family: "EC", generate: () => ec("prime256v1") },
  EC_secp384r1: { family: "EC", generate: () => ec("secp384r1") },
  EC_secp521r1: { family: "EC", generate: () => ec("secp521r1") },
  ML_DSA_44: { family: "ML_DSA_44" },
  ML_DSA_65: { family: "ML_DSA_65" },
  ML_DSA_87: { family: "ML_DSA_87" },
});

async function rsa(modulusLength: number): Promise<KeyObject> {
  return (await generateKeyPairAsync("rsa", { modulusLength })).privateKey;
}
async function ec(namedCurve: string): Promise<KeyObject> {
  return (await generateKeyPairAsync("ec", { namedCurve })).privateKey;
}

export interface Permission {
  principal: string;
  sourceAccount?: string;
  actions: string[];
  createdAt: number;
  policy: string;
}

export interface AuthorityBody {
  arn: string;
  id: string;
  region: string;
  type: "ROOT" | "SUBORDINATE";
  status: string;
  createdAt: number;
  lastStateChangeAt: number;
  configuration: {
    KeyAlgorithm: string;
    SigningAlgorithm: string;
    Subject: Record<string, unknown>;
    CsrExtensions?: Record<string, unknown>;
  };
  revocation?: RevocationConfig;
  usageMode: string;
  keyStorageSecurityStandard: string;
  /** The private key (PKCS#8; ML-DSA: its seed), wrapped by the key store under the CA's ARN; base64. Empty when the key is in the HSM. */
  wrappedKey: string;
  /** The key pair generated in keyhold's HSM (FIPS_140_2_LEVEL_3_OR_HIGHER with an HSM configured): where it is there. */
  hsmKey?: HsmKeyRef;
  /** Its public key, DER SubjectPublicKeyInfo, base64. */
  spki: string;
  csrPem: string;
  /** The CA certificate (DER, base64) and the chain above it (PEM), once imported. */
  certificate?: string;
  chainPem?: string;
  serial?: string;
  notBefore?: number;
  notAfter?: number;
  /** The CA certificate's pathLenConstraint; undefined: none. */
  pathLen?: number;
  /** When deleted: until when it can be restored, and the state it goes back to. */
  restorableUntil?: number;
  statusBeforeDeletion?: string;
  tags: { Key: string; Value?: string }[];
  policy?: string;
  permissions: Permission[];
  /** CreateCertificateAuthority's IdempotencyToken and when it was used: a retry within 5 minutes returns this CA. */
  idempotency?: { token: string; at: number };
  /** The number of the last CRL published and when the next must be. */
  crlNumber: number;
  crlNextUpdate?: number;
  /** The last audit report made: id → where it was written. */
  auditReports?: { id: string; bucket: string; key: string; status: string; createdAt: number }[];
}

export interface RevocationConfig {
  CrlConfiguration?: {
    Enabled?: boolean;
    ExpirationInDays?: number;
    CustomCname?: string;
    S3BucketName?: string;
    S3ObjectAcl?: string;
    CrlDistributionPointExtensionConfiguration?: { OmitExtension?: boolean };
    CrlType?: string;
    CustomPath?: string;
  };
  OcspConfiguration?: { Enabled?: boolean; OcspCustomCname?: string };
}

export interface CertificateBody {
  arn: string;
  caArn: string;
  serial: string;
  /** DER, base64. */
  der: string;
  notBefore: number;
  notAfter: number;
  issuedAt: number;
  template: string;
  revokedAt?: number;
  reason?: string;
  /** IssueCertificate's idempotency: a hash of the token and the request. */
  idempotency?: string;
}

export interface Authority {
  doc: DocumentRecord;
  body: AuthorityBody;
  accountId: string;
}

export interface AcmPcaDeps {
  repo: Repository;
  keystore: KeyStore;
  authorizer: Authorizer;
  clock: Clock;
  /** keyhold's HSM, when one is configured: CA keys of the FIPS 140-2 level 3 standard are generated and used there. */
  hsmKeys?: HsmCaKeys;
}

const ARN = /^arn:aws:acm-pca:([a-z0-9-]+):(\d{12}):certificate-authority\/([0-9a-f-]{36})$/;
const CERT_ARN = /^arn:aws:acm-pca:([a-z0-9-]+):(\d{12}):certificate-authority\/([0-9a-f-]{36})\/certificate\/([0-9a-f]{1,64})$/;

export class AcmPcaService {
  readonly repo: Repository;
  readonly keystore: KeyStore;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  readonly hsmKeys?: HsmCaKeys;
  /** keyhold's own endpoint (http://host:port), for the OCSP URL and CRL URL certificates carry; set once listening. */
  endpoint = "http://127.0.0.1:8420";
  /** Writes CRLs into keyhold's S3 (set by app.ts once S3 exists). */
  crls?: CrlPublisher;
  log: (message: string) => void = () => undefined;
  private readonly keys = new Lru<string, KeyObject>(1000);
  readonly certificateWrites: DocumentGroupCommit;

  constructor(deps: AcmPcaDeps) {
    this.repo = deps.repo;
    this.keystore = deps.keystore;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
    this.hsmKeys = deps.hsmKeys;
    this.certificateWrites = new DocumentGroupCommit(deps.repo);
  }

  newArn(call: CallContext): { arn: string; id: string } {
    const id = randomUUID();
    return { id, arn: `arn:aws:acm-pca:${call.region}:${call.accountId}:certificate-authority/${id}` };
  }

  parseArn(arn: string): { region: string; accountId: string; id: string } {
    const m = ARN.exec(arn);
    if (!m) throw new ServiceError("InvalidArnException", `The ARN ${arn} is not a valid certificate authority ARN.`);
    return { region: m[1]!, accountId: m[2]!, id: m[3]! };
  }

  parseCertificateArn(arn: string): { caArn: string; serial: string } {
    const m = CERT_ARN.exec(arn);
    if (!m) throw new ServiceError("InvalidArnException", `The ARN ${arn} is not a valid certificate ARN.`);
    return { caArn: `arn:aws:acm-pca:${m[1]}:${m[2]}:certificate-authority/${m[3]}`, serial: m[4]! };
  }

  /** The CA an ARN names, for the caller (found in its own region only), authorized for `action`; ResourceNotFoundException else. */
  async require(call: CallContext, arn: string, action: string): Promise<Authority> {
    const ca = await this.find(call, arn);
    this.trailResource(call, ca.body.arn);
    await this.authorize(call, action, ca);
    return ca;
  }

  async find(call: CallContext, arn: string): Promise<Authority> {
    const { region, accountId, id } = this.parseArn(arn);
    const ca = region === call.region ? await this.load(accountId, id) : undefined;
    if (!ca) throw new ServiceError("ResourceNotFoundException", `Could not find certificate authority ${arn}.`);
    return ca;
  }

  async load(accountId: string, id: string): Promise<Authority | undefined> {
    const doc = await this.repo.getDocument(CA_KIND, accountId, id);
    return doc && { doc, body: JSON.parse(doc.body) as AuthorityBody, accountId };
  }

  /** A CA by id in any account (the OCSP responder's requests are unsigned). */
  async loadAnywhere(id: string): Promise<Authority | undefined> {
    const page = await this.repo.listDocumentsByRef(CA_KIND, `id:${id}`, undefined, 1);
    const doc = page.items[0];
    return doc && { doc, body: JSON.parse(doc.body) as AuthorityBody, accountId: doc.accountId };
  }

  /** The account's CAs in id order, after `after`. */
  async list(accountId: string, after: string | undefined, limit: number): Promise<{ items: Authority[]; next?: string }> {
    const page = await this.repo.listDocuments(CA_KIND, accountId, "", after, limit);
    return { items: page.items.map((doc) => ({ doc, body: JSON.parse(doc.body) as AuthorityBody, accountId })), next: page.next };
  }

  /** The CA this account created in this region with this IdempotencyToken since `since`. */
  async byCreateToken(call: CallContext, token: string, since: number): Promise<string | undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list(call.accountId, after, 1000);
      for (const ca of page.items) {
        const i = ca.body.idempotency;
        if (i && i.token === token && i.at >= since && ca.body.region === call.region) return ca.body.arn;
      }
      if (!page.next) return undefined;
      after = page.next;
    }
  }

  trailResource(call: CallContext, arn: string): void {
    if (!call.trail.resources.some((r) => r.arn === arn)) call.trail.resources.push({ arn, type: CA_RESOURCE_TYPE });
  }

  async authorize(
    call: CallContext,
    action: string,
    ca: Pick<Authority, "accountId" | "body"> | undefined,
    requestTags?: { Key: string; Value?: string }[],
  ): Promise<void> {
    const resource = ca?.body.arn ?? "*";
    const decision = await this.authorizer.check(call, {
      action,
      resource,
      resourceAccount: ca?.accountId ?? call.accountId,
      resourcePolicy: ca?.body.policy ? compilePolicy(ca.body.policy, "resource") : undefined,
      context: () =>
        new ContextValues((name) => {
          if (name.startsWith("aws:resourcetag/")) {
            const wanted = name.slice("aws:resourcetag/".length);
            return ca?.body.tags.find((t) => t.Key.toLowerCase() === wanted)?.Value;
          }
          if (name.startsWith("aws:requesttag/")) {
            const wanted = name.slice("aws:requesttag/".length);
            return requestTags?.find((t) => t.Key.toLowerCase() === wanted)?.Value;
          }
          if (name === "aws:tagkeys") return requestTags?.map((t) => t.Key);
          return undefined;
        }),
    });
    if (!decision.allowed) throw accessDenied(call, action, resource, decision.reason);
  }

  /** Writes the CA at the revision read; a concurrent change is ConcurrentModificationException. */
  async save(ca: Authority, body: AuthorityBody, ref: string | undefined = refOf(body)): Promise<Authority> {
    const doc: DocumentRecord = { ...ca.doc, body: JSON.stringify(body), ref, revision: ca.doc.revision + 1 };
    if (!(await this.repo.putDocument(doc, ca.doc.revision))) {
      throw new ServiceError(
        "ConcurrentModificationException",
        `The certificate authority ${body.arn} was changed by another request; try again.`,
      );
    }
    return { doc, body, accountId: ca.accountId };
  }

  async create(accountId: string, body: AuthorityBody): Promise<boolean> {
    return this.repo.putDocument(
      { kind: CA_KIND, accountId, name: body.id, ref: refOf(body), body: JSON.stringify(body), revision: 1, createdAt: body.createdAt },
      "new",
    );
  }

  // ---- the CA's key ------------------------------------------------------------------------

  /** A fresh key pair for a CA: the private key wrapped for storage (and zeroed), the public key in the clear. */
  /**
   * Where the key goes: in keyhold's HSM for the FIPS 140-2 level 3 standard (AWS's default) when
   * an HSM is configured and its mechanisms make the key algorithm (RSA, EC); else in software,
   * wrapped under the key hierarchy (whose root key the HSM seals, when there is one).
   */
  keyInHsm(keyAlgorithm: string, standard: string): boolean {
    return this.hsmKeys !== undefined && standard === "FIPS_140_2_LEVEL_3_OR_HIGHER" && this.hsmKeys.supports(keyAlgorithm);
  }

  /** A key pair generated in the HSM for the CA `id`. */
  async newHsmKey(id: string, keyAlgorithm: string): Promise<{ hsmKey: HsmKeyRef; spki: Buffer }> {
    const { ref, spki } = await this.hsmKeys!.generate(id, keyAlgorithm);
    return { hsmKey: ref, spki };
  }

  /** Destroys a CA's key in the HSM (after a failed create, or once the CA is purged). */
  async destroyHsmKey(body: AuthorityBody): Promise<void> {
    if (!body.hsmKey) return;
    if (!this.hsmKeys) throw noHsm(body.arn);
    await this.hsmKeys.destroy(body.hsmKey);
  }

  async newKey(arn: string, keyAlgorithm: string): Promise<{ wrappedKey: string; spki: Buffer }> {
    if (isMlDsa(keyAlgorithm)) {
      // The seed is the key: wrapped like PKCS#8 is, and its KeyObject derives the pair.
      const seed = newMlDsaSeed();
      try {
        return {
          wrappedKey: this.keystore.wrap(seed, keyContext(arn)).toString("base64"),
          spki: mlDsaPublicKeyDer(keyAlgorithm, createSecretKey(seed)),
        };
      } finally {
        seed.fill(0);
      }
    }
    const privateKey = await KEY_ALGORITHMS[keyAlgorithm]!.generate!();
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
    try {
      return { wrappedKey: this.keystore.wrap(pkcs8, keyContext(arn)).toString("base64"), spki: publicKeyDer(privateKey) };
    } finally {
      pkcs8.fill(0);
    }
  }

  private privateKey(body: AuthorityBody): KeyObject {
    let key = this.keys.get(body.arn);
    if (!key) {
      const material = this.keystore.unwrap(Buffer.from(body.wrappedKey, "base64"), keyContext(body.arn));
      if (isMlDsa(body.configuration.KeyAlgorithm)) {
        key = createSecretKey(material);
        material.fill(0);
      } else key = takePrivateKey(material);
      this.keys.set(body.arn, key);
    }
    return key;
  }

  forgetKey(arn: string): void {
    this.keys.delete(arn);
  }

  /** Signs with the CA's key and its SigningAlgorithm (or `algorithm`), through the code KMS's Sign uses. */
  signer(body: AuthorityBody, algorithm: string = body.configuration.SigningAlgorithm): Signer {
    if (body.hsmKey) {
      if (!this.hsmKeys) throw noHsm(body.arn);
      return this.hsmKeys.signer(body.hsmKey, algorithm);
    }
    const keyAlgorithm = body.configuration.KeyAlgorithm;
    // RFC 9881: pure ML-DSA, empty context, over the DER to be signed.
    if (isMlDsa(keyAlgorithm)) return (tbs) => mlDsaSign(keyAlgorithm, this.privateKey(body), tbs, false);
    const kmsAlgorithm = SIGNING_ALGORITHMS[algorithm]!.kms;
    return (tbs) => signMessage(kmsAlgorithm, this.privateKey(body), tbs);
  }

  /** At CreateCertificateAuthority and UpdateCertificateAuthority: the CRL's bucket exists and lets acm-pca.amazonaws.com write. */
  async checkCrlBucket(call: CallContext, revocation: RevocationConfig, arn?: string): Promise<void> {
    if (!this.crls) throw new ServiceError("InvalidArgsException", "CRLs need keyhold's S3 service, which is not running here.");
    await this.crls.checkBucket(call, revocation, arn);
  }

  /**
   * Publishes the CA's CRL now. The change that asked for it is already durable: if the bucket
   * refuses now, the scheduler's next round publishes it (crlNextUpdate is left as it was).
   */
  async publishCrlSoon(ca: Authority): Promise<void> {
    try {
      await this.crls?.publish(ca.accountId, ca.body.id);
    } catch (error) {
      this.log(`publishing the CRL of ${ca.body.arn} failed (the scheduler retries): ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** Removes for good the CAs whose restoration period has ended: the document (and its wrapped key), then its certificates. */
  async purgeDeleted(accountIds: readonly string[]): Promise<string[]> {
    const now = this.clock.now();
    const purged: string[] = [];
    for (const accountId of accountIds) {
      let after: string | undefined;
      for (;;) {
        const page = await this.list(accountId, after, 1000);
        for (const ca of page.items) {
          if (ca.body.status !== "DELETED" || (ca.body.restorableUntil ?? 0) > now) continue;
          // At the revision read: a CA restored meanwhile stays.
          if (!(await this.repo.deleteDocument(CA_KIND, accountId, ca.body.id, ca.doc.revision))) continue;
          this.forgetKey(ca.body.arn);
          await this.deleteCertificates(accountId, ca.body.id);
          if (ca.body.hsmKey) {
            try {
              await this.destroyHsmKey(ca.body);
            } catch (error) {
              this.log(`destroying the HSM key of ${ca.body.arn} failed: ${(error as Error)?.message ?? String(error)}`);
            }
          }
          purged.push(ca.body.arn);
        }
        if (!page.next) break;
        after = page.next;
      }
    }
    return purged;
  }

  async deleteCertificates(accountId: string, caId: string): Promise<void> {
    for (;;) {
      const page = await this.repo.listDocuments(CERT_KIND, accountId, `${caId}/`, undefined, 1000);
      for (const d of page.items) await this.repo.deleteDocument(CERT_KIND, accountId, d.name);
      if (!page.next) return;
    }
  }

  // ---- states ------------------------------------------------------------------------------

  /** The state as of now: an ACTIVE CA whose certificate has expired is EXPIRED. */
  status(body: AuthorityBody): string {
    if (body.status === "ACTIVE" && body.notAfter !== undefined && body.notAfter <= this.clock.now()) return "EXPIRED";
    return body.status;
  }

  requireStatus(body: AuthorityBody, allowed: readonly string[], what: string): void {
    const status = this.status(body);
    if (!allowed.includes(status)) {
      throw new ServiceError(
        "InvalidStateException",
        `The certificate authority ${body.arn} is in state ${status}: ${what} needs ${allowed.join(" or ")}.`,
      );
    }
  }

  // ---- certificates ------------------------------------------------------------------------

  /** A unique positive serial: 16 random bytes, top bit clear, first byte non-zero (so exactly 16 bytes of DER content). */
  newSerial(): Buffer {
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x01;
    return serial;
  }

  certificateArn(caArn: string, serialHex: string): string {
    return `${caArn}/certificate/${serialHex}`;
  }

  /**
   * Stores an issued certificate, durably before it resolves; the certificates issued in the same
   * turn of the event loop share one commit (src/store/group-commit.ts).
   */
  async storeCertificate(accountId: string, ca: AuthorityBody, body: CertificateBody): Promise<boolean> {
    return this.certificateWrites.put(
      {
        kind: CERT_KIND,
        accountId,
        name: `${ca.id}/${body.serial}`,
        ref: body.idempotency ? `idem:${ca.id}:${body.idempotency}` : undefined,
        body: JSON.stringify(body),
        revision: 1,
        createdAt: body.issuedAt,
      },
      "new",
    );
  }

  async certificate(
    accountId: string,
    caId: string,
    serialHex: string,
  ): Promise<{ doc: DocumentRecord; body: CertificateBody } | undefined> {
    const doc = await this.repo.getDocument(CERT_KIND, accountId, `${caId}/${serialHex}`);
    return doc && { doc, body: JSON.parse(doc.body) as CertificateBody };
  }

  async byIdempotency(caId: string, hash: string): Promise<CertificateBody | undefined> {
    const page = await this.repo.listDocumentsByRef(CERT_KIND, `idem:${caId}:${hash}`, undefined, 1);
    return page.items[0] && (JSON.parse(page.items[0].body) as CertificateBody);
  }

  /** Every revoked certificate of a CA, for its CRL. */
  async revoked(accountId: string, caId: string): Promise<CertificateBody[]> {
    const out: CertificateBody[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listDocuments(CERT_KIND, accountId, `${caId}/`, after, 1000);
      for (const d of page.items) {
        const body = JSON.parse(d.body) as CertificateBody;
        if (body.revokedAt !== undefined) out.push(body);
      }
      if (!page.next) return out;
      after = page.next;
    }
  }

  /** The CA certificate then the chain above it, PEM: what an issued certificate's chain is. */
  chainOf(body: AuthorityBody): string | undefined {
    if (!body.certificate) return undefined;
    const pem = toPemString(Buffer.from(body.certificate, "base64"));
    return body.chainPem ? `${pem}${body.chainPem}` : pem;
  }

  /** Where the CA's CRL object lives in its bucket: crl/<ca-id>.crl, or under CustomPath. */
  crlKey(body: AuthorityBody): string {
    const path = body.revocation?.CrlConfiguration?.CustomPath;
    return `${path ?? "crl"}/${body.id}.crl`;
  }

  /** The CRL distribution point URL certificates carry: the CustomCname's, else the object on keyhold's S3 endpoint (path style). */
  crlUrl(body: AuthorityBody): string {
    const crl = body.revocation!.CrlConfiguration!;
    if (crl.CustomCname) return `http://${crl.CustomCname}/${this.crlKey(body)}`;
    return `${this.endpoint}/${crl.S3BucketName}/${this.crlKey(body)}`;
  }

  /** The OCSP URL certificates carry: keyhold's responder for the CA (or the custom CNAME in front of it). */
  ocspUrl(body: AuthorityBody): string {
    const cname = body.revocation?.OcspConfiguration?.OcspCustomCname;
    return `${cname ? `http://${cname}` : this.endpoint}/_keyhold/ocsp/${body.id}`;
  }
}

function refOf(body: AuthorityBody): string {
  // One ref per CA: its id, so the OCSP responder and the scheduler find it in any account.
  return `id:${body.id}`;
}

/** Binds the wrapped CA key to its CA: a wrapped key moved to another CA's document won't open. */
export function keyContext(arn: string): string {
  return `keyhold:acm-pca-key:v1:${arn}`;
}

export function toPemString(der: Buffer, label = "CERTIFICATE"): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** A certificate serial as callers write it (hex, any case, with or without colons or leading zeros), normalized. */
export function normalizeSerial(serial: string): string | undefined {
  const hex = serial.replace(/:/g, "").toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  return hex.replace(/^0+(?=.)/, "");
}
