/**
 * The ACM layer shared by the operations: certificates (one document per certificate in an
 * account and region, its private key wrapped by the key store as KMS key material is), their
 * ARNs, authorization with acm:* actions, issuing and renewing private certificates through
 * keyhold's private CA, and the tags. docs/acm.md.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import { DAY_MS, type Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { Authorizer } from "../iam/authorizer.js";
import type { KeyStore } from "../keystore/keystore.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord } from "../store/records.js";
import { createPrivateKey, webcrypto, type KeyObject } from "node:crypto";
import type { PrivateCertificateIssuer } from "./issuer.js";
import { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm } from "./keys.js";
import { certificateFacts, pemCertificates, x509Lib, type CertificateFacts } from "./x509.js";

export const CERTIFICATE_RESOURCE_TYPE = "AWS::CertificateManager::Certificate";
const KIND = "acm-certificate";
const ACCOUNT_KIND = "acm-account";
/** The ref of a private certificate ACM renews: the scheduler finds them by it. */
export const MANAGED_REF = "acm-managed";
/** ACM renews a private certificate it manages 60 days before it expires. */
export const RENEWAL_WINDOW_DAYS = 60;
/** ACM's private certificates are valid 13 months (395 days). */
export const PRIVATE_VALIDITY_DAYS = 395;
/** Tags per certificate (ACM's quota). */
export const MAX_TAGS = 50;
/** An IdempotencyToken names the same request for one hour. */
const IDEMPOTENCY_MS = 3_600_000;

const ARN = /^arn:aws:acm:([a-z0-9-]{1,32}):(\d{12}):certificate\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export type CertificateType = "IMPORTED" | "PRIVATE";
export type Tag = { Key: string; Value?: string };
/** A tag as the SDK types it (Key is required by the schema, so present). */
type InputTag = { Key?: string; Value?: string };

export interface CertificateBody {
  arn: string;
  region: string;
  type: CertificateType;
  status: "ISSUED" | "FAILED" | "EXPIRED" | "PENDING_VALIDATION" | "INACTIVE" | "REVOKED" | "VALIDATION_TIMED_OUT";
  keyAlgorithm: KeyAlgorithm;
  /** Read from the certificate when it was imported or issued. */
  facts?: CertificateFacts;
  certificatePem?: string;
  chainPem?: string;
  /** The private key (PKCS#8 DER) wrapped by the key store, bound to the ARN and keyRef. */
  wrappedKey?: string;
  /** A fresh id per key the certificate has had, so that a wrapped key belongs to one certificate version. */
  keyRef?: string;
  createdAt: number;
  importedAt?: number;
  issuedAt?: number;
  tags: Tag[];
  /** RequestCertificate: the CA, the names asked for, the token, the options. */
  certificateAuthorityArn?: string;
  requested?: { domainName: string; subjectAlternativeNames: string[]; ipAddresses?: string[] };
  /** The private CA template to issue with (keyhold's own HTTPS certificate: EndEntityServerAuthCertificate); the CA's default else. */
  templateArn?: string;
  idempotencyToken?: string;
  options?: { CertificateTransparencyLoggingPreference?: string; Export?: string };
  exported?: boolean;
  failureReason?: string;
  /** RevokeCertificate: when, and ACM's reason. */
  revokedAt?: number;
  revocationReason?: string;
  renewal?: { status: "PENDING_AUTO_RENEWAL" | "SUCCESS" | "FAILED"; updatedAt: number; reason?: string };
}

export interface Certificate {
  accountId: string;
  doc: DocumentRecord;
  body: CertificateBody;
}

export interface AccountConfiguration {
  daysBeforeExpiry: number;
  idempotency?: { token: string; at: number };
}

export interface AcmDependencies {
  repo: Repository;
  keystore: KeyStore;
  authorizer: Authorizer;
  clock: Clock;
  /** Issues private certificates: keyhold's private CA. Without one RequestCertificate says so. */
  issuer?: PrivateCertificateIssuer;
}

export class AcmService {
  readonly repo: Repository;
  readonly keystore: KeyStore;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  issuer: PrivateCertificateIssuer | undefined;
  /** What uses a certificate (keyhold's own HTTPS listener): DescribeCertificate's InUseBy, and DeleteCertificate refuses. */
  inUseBy: (arn: string) => string[] = () => [];
  /** Told of every certificate whose certificate or key changed (re-import, renewal), so a listener serving it switches. */
  private readonly listeners = new Set<(arn: string) => void>();

  constructor(deps: AcmDependencies) {
    this.repo = deps.repo;
    this.keystore = deps.keystore;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
    this.issuer = deps.issuer;
  }

  onChange(listener: (arn: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(arn: string): void {
    for (const l of this.listeners) l(arn);
  }

  // ---- ARNs and lookup ----------------------------------------------------------------------

  newArn(call: Pick<CallContext, "accountId" | "region">): string {
    return `arn:aws:acm:${call.region}:${call.accountId}:certificate/${randomUUID()}`;
  }

  static parseArn(arn: string): { region: string; accountId: string; id: string } {
    const m = ARN.exec(arn);
    if (!m) throw new ServiceError("InvalidArnException", `The certificate ARN ${JSON.stringify(arn.slice(0, 200))} is not valid.`);
    return { region: m[1]!, accountId: m[2]!, id: m[3]! };
  }

  private static docName(region: string, id: string): string {
    return `${region}/${id}`;
  }

  async load(accountId: string, region: string, id: string): Promise<Certificate | undefined> {
    const doc = await this.repo.getDocument(KIND, accountId, AcmService.docName(region, id));
    return doc && { accountId, doc, body: JSON.parse(doc.body) as CertificateBody };
  }

  /**
   * The certificate an ARN names, once the caller may perform `action` on it. ACM has no resource
   * policies: the caller's identity policies decide, on the ARN, before existence is told.
   * Another account's or region's certificate is not found (ACM shares none).
   */
  async require(call: CallContext, arn: string, action: string): Promise<Certificate> {
    const { region, accountId, id } = AcmService.parseArn(arn);
    await this.authorizer.require(call, { action, resource: arn, resourceAccount: accountId });
    const cert = accountId === call.accountId && region === call.region ? await this.load(accountId, region, id) : undefined;
    if (!cert) throw new ServiceError("ResourceNotFoundException", `Could not find certificate ${arn}.`);
    this.trailResource(call, arn);
    return cert;
  }

  trailResource(call: CallContext, arn: string): void {
    if (!call.trail.resources.some((r) => r.arn === arn)) call.trail.resources.push({ arn, type: CERTIFICATE_RESOURCE_TYPE });
  }

  /** Every certificate of an account in a region (ACM's quota keeps this in the thousands). */
  async all(accountId: string, region: string): Promise<Certificate[]> {
    const out: Certificate[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listDocuments(KIND, accountId, `${region}/`, after, 1000);
      for (const doc of page.items) out.push({ accountId, doc, body: JSON.parse(doc.body) as CertificateBody });
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  /** Private certificates ACM renews, across accounts and regions: the scheduler's work list. */
  async managed(): Promise<Certificate[]> {
    const out: Certificate[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listDocumentsByRef(KIND, MANAGED_REF, after, 1000);
      for (const doc of page.items) out.push({ accountId: doc.accountId, doc, body: JSON.parse(doc.body) as CertificateBody });
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  // ---- writes -------------------------------------------------------------------------------

  async create(call: Pick<CallContext, "accountId" | "region">, body: CertificateBody): Promise<Certificate> {
    const doc: DocumentRecord = {
      kind: KIND,
      accountId: call.accountId,
      name: AcmService.docName(body.region, AcmService.parseArn(body.arn).id),
      ref: body.type === "PRIVATE" ? MANAGED_REF : undefined,
      body: JSON.stringify(body),
      revision: 1,
      createdAt: this.clock.now(),
    };
    if (!(await this.repo.putDocument(doc, "new"))) throw new ServiceError("ConflictException", "The certificate ARN is taken; try again.");
    return { accountId: call.accountId, doc, body };
  }

  /** Writes the certificate at the revision it was read; a concurrent change is refused, never lost. */
  async save(cert: Certificate, body: CertificateBody, keyChanged = false): Promise<void> {
    const doc: DocumentRecord = { ...cert.doc, body: JSON.stringify(body), revision: cert.doc.revision + 1 };
    if (!(await this.repo.putDocument(doc, cert.doc.revision)))
      throw new ServiceError("ConflictException", "The certificate was changed by another request at the same time; try again.");
    cert.doc = doc;
    cert.body = body;
    if (keyChanged) this.changed(body.arn);
  }

  async delete(cert: Certificate): Promise<boolean> {
    return this.repo.deleteDocument(KIND, cert.accountId, cert.doc.name, cert.doc.revision);
  }

  // ---- private keys -------------------------------------------------------------------------

  private static keyContext(arn: string, keyRef: string): string {
    return `acm:certificate:${arn}:${keyRef}`;
  }

  /** Wraps a private key (PKCS#8 DER) for the certificate; the DER is zeroed here. */
  wrapKey(arn: string, der: Buffer): { wrappedKey: string; keyRef: string } {
    const keyRef = randomUUID();
    try {
      return { wrappedKey: this.keystore.wrap(der, AcmService.keyContext(arn, keyRef)).toString("base64"), keyRef };
    } finally {
      der.fill(0);
    }
  }

  /** The certificate's private key, unwrapped into a KeyObject only (the DER is zeroed at once). */
  privateKey(body: CertificateBody): KeyObject {
    if (!body.wrappedKey || !body.keyRef)
      throw new ServiceError("RequestInProgressException", `Certificate ${body.arn} has no private key.`);
    const der = this.keystore.unwrap(Buffer.from(body.wrappedKey, "base64"), AcmService.keyContext(body.arn, body.keyRef));
    try {
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    } finally {
      der.fill(0);
    }
  }

  // ---- private certificates -----------------------------------------------------------------

  /**
   * Generates a key pair, sends a CSR for the requested names to the private CA and answers the
   * issued certificate's part of the body. A refusal of the CA (not found, not active, denied)
   * becomes the certificate's FAILED status with ACM's FailureReason, as on AWS, where issuing
   * happens after RequestCertificate has answered.
   */
  async issue(call: CallContext, body: CertificateBody): Promise<Partial<CertificateBody>> {
    const issuer = this.issuer;
    const now = this.clock.now();
    if (!issuer) return { status: "FAILED", failureReason: "PCA_INVALID_STATE" };
    const names = body.requested!;
    const keys = await generateKeyPair(body.keyAlgorithm);
    const lib = await x509Lib();
    const csr = await lib.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${names.domainName}`,
      keys,
      signingAlgorithm: KEY_ALGORITHMS[body.keyAlgorithm].sign,
      extensions: [
        new lib.SubjectAlternativeNameExtension([
          ...names.subjectAlternativeNames.map((value) => ({ type: "dns" as const, value })),
          ...(names.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
        ]),
      ],
    });
    let issued;
    try {
      issued = await issuer.issue(call, {
        certificateAuthorityArn: body.certificateAuthorityArn!,
        csrDer: Buffer.from(csr.rawData),
        validityDays: PRIVATE_VALIDITY_DAYS,
        templateArn: body.templateArn,
      });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return { status: "FAILED", failureReason: failureReason(error.code) };
    }
    const der = pemCertificates(issued.certificatePem)[0];
    if (!der) throw new Error("the private CA answered no certificate");
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    return {
      status: "ISSUED",
      failureReason: undefined,
      certificatePem: issued.certificatePem.trim() + "\n",
      chainPem: issued.chainPem.trim() + "\n",
      facts: await certificateFacts(der),
      issuedAt: now,
      ...this.wrapKey(body.arn, pkcs8),
    };
  }

  /** RenewCertificate and managed renewal: a new key and certificate from the same CA, the same ARN. */
  async renew(call: CallContext, cert: Certificate): Promise<void> {
    const body = cert.body;
    const update = await this.issue(call, body);
    const now = this.clock.now();
    if (update.status !== "ISSUED") {
      await this.save(cert, { ...body, renewal: { status: "FAILED", updatedAt: now, reason: update.failureReason } });
      return;
    }
    await this.save(cert, { ...body, ...update, renewal: { status: "SUCCESS", updatedAt: now } }, true);
  }

  /** Whether a managed private certificate is within ACM's renewal window. */
  dueForRenewal(body: CertificateBody, now: number): boolean {
    return (
      body.type === "PRIVATE" &&
      body.status === "ISSUED" &&
      body.facts !== undefined &&
      body.facts.notAfter - RENEWAL_WINDOW_DAYS * DAY_MS <= now
    );
  }

  /** A certificate request made with the same IdempotencyToken within the hour: its ARN is answered again. */
  async sameRequest(call: CallContext, token: string): Promise<Certificate | undefined> {
    const since = this.clock.now() - IDEMPOTENCY_MS;
    return (await this.all(call.accountId, call.region)).find(
      (c) => c.body.idempotencyToken === token && c.body.type === "PRIVATE" && c.body.createdAt >= since,
    );
  }

  // ---- account configuration ----------------------------------------------------------------

  async accountConfiguration(accountId: string, region: string): Promise<{ config: AccountConfiguration; doc?: DocumentRecord }> {
    const doc = await this.repo.getDocument(ACCOUNT_KIND, accountId, region);
    return { config: doc ? (JSON.parse(doc.body) as AccountConfiguration) : { daysBeforeExpiry: 45 }, doc };
  }

  async putAccountConfiguration(
    accountId: string,
    region: string,
    config: AccountConfiguration,
    doc: DocumentRecord | undefined,
  ): Promise<void> {
    const next: DocumentRecord = {
      kind: ACCOUNT_KIND,
      accountId,
      name: region,
      body: JSON.stringify(config),
      revision: (doc?.revision ?? 0) + 1,
      createdAt: doc?.createdAt ?? this.clock.now(),
    };
    if (!(await this.repo.putDocument(next, doc ? doc.revision : "new")))
      throw new ServiceError("ConflictException", "The account configuration was changed by another request at the same time; try again.");
  }

  /** An IdempotencyToken is remembered for an hour. */
  static idempotencyFresh(at: number, now: number): boolean {
    return now - at < IDEMPOTENCY_MS;
  }
}

/** ACM's FailureReason for the private CA's refusal. */
function failureReason(code: string): string {
  switch (code) {
    case "ResourceNotFoundException":
      return "PCA_RESOURCE_NOT_FOUND";
    case "InvalidStateException":
      return "PCA_INVALID_STATE";
    case "AccessDeniedException":
      return "PCA_ACCESS_DENIED";
    case "InvalidArnException":
      return "PCA_INVALID_ARN";
    case "LimitExceededException":
      return "PCA_LIMIT_EXCEEDED";
    case "InvalidArgsException":
    case "MalformedCSRException":
    case "ValidationException":
      return "PCA_INVALID_ARGS";
    default:
      return "PCA_REQUEST_FAILED";
  }
}

/** Tags as ACM checks them: characters, no aws: prefix, at most 50 on a certificate. */
export function checkTags(input: readonly InputTag[]): Tag[] {
  const tags = input.map((t) => ({ Key: t.Key ?? "", Value: t.Value }));
  const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  for (const t of tags) {
    if (!allowed.test(t.Key) || (t.Value !== undefined && !allowed.test(t.Value)))
      throw new ServiceError("InvalidTagException", `The tag ${JSON.stringify(t.Key)} holds characters ACM does not allow.`);
    if (t.Key.toLowerCase().startsWith("aws:"))
      throw new ServiceError("InvalidTagException", `The tag key ${JSON.stringify(t.Key)} begins with aws:, which is reserved.`);
  }
  return tags.map((t) => ({ Key: t.Key, Value: t.Value ?? "" }));
}

export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const out = existing.filter((t) => !added.some((a) => a.Key === t.Key));
  out.push(...added);
  if (out.length > MAX_TAGS) throw new ServiceError("TooManyTagsException", `A certificate holds at most ${MAX_TAGS} tags.`);
  return out;
}
