/**
 * CRLs: a CA with CrlConfiguration enabled has its CRL (DER, v2, every revoked serial with its
 * time and reason, a CRL number that only grows) written into its keyhold S3 bucket at
 * crl/<ca-id>.crl, as AWS PCA writes it: by the service principal acm-pca.amazonaws.com, which
 * the bucket's policy must allow (s3:PutObject, s3:GetBucketAcl), with aws:SourceArn and
 * aws:SourceAccount naming the CA. Published on each revocation and, by the scheduler, before it
 * expires (once half its ExpirationInDays has gone).
 */
import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x509 from "@peculiar/asn1-x509";
import type { CallContext } from "../call.js";
import { DAY_MS } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { Principal } from "../iam/principal.js";
import { etagOf, type ObjectBody, type S3Service } from "../s3/service.js";
import { DEFAULT_CRL_EXPIRATION_DAYS } from "./revocation.js";
import { CRL_REASONS } from "./revoke.js";
import type { AcmPcaService, Authority, AuthorityBody, RevocationConfig } from "./service.js";
import { certificateFacts, signCrl } from "./x509.js";

export const ACMPCA_PRINCIPAL = "acm-pca.amazonaws.com";

export class CrlPublisher {
  constructor(
    private readonly pca: AcmPcaService,
    private readonly s3: S3Service,
  ) {}

  /** ACM PCA's call to S3 for a CA: the service principal in the bucket's account, with aws:SourceArn and aws:SourceAccount. */
  private serviceCall(ca: Pick<AuthorityBody, "arn" | "region">, caAccount: string, bucketAccount: string, action: string): CallContext {
    const principal: Principal = {
      type: "AWSService",
      accountId: bucketAccount,
      arn: `service:${ACMPCA_PRINCIPAL}`,
      principalId: ACMPCA_PRINCIPAL,
    };
    return {
      accountId: bucketAccount,
      region: ca.region,
      accessKeyId: "",
      principal,
      time: this.pca.clock.now(),
      secureTransport: true,
      requestId: randomUUID(),
      action,
      trail: { resources: [] },
      source: { arn: ca.arn, account: caAccount },
    };
  }

  private conditions(ca: Pick<AuthorityBody, "arn">, caAccount: string): Record<string, string> {
    return { "aws:sourcearn": ca.arn, "aws:sourceaccount": caAccount };
  }

  /** At CreateCertificateAuthority and UpdateCertificateAuthority: the bucket exists and its policy lets ACM PCA write the CRL. */
  async checkBucket(
    call: CallContext,
    revocation: RevocationConfig,
    arn = `arn:aws:acm-pca:${call.region}:${call.accountId}:certificate-authority/*`,
  ): Promise<void> {
    const name = revocation.CrlConfiguration!.S3BucketName!;
    const bucket = await this.s3.bucket(name);
    if (!bucket) throw new ServiceError("InvalidArgsException", `The S3 bucket ${name} does not exist.`);
    const ca = { arn, region: call.region };
    try {
      const acl = this.serviceCall(ca, call.accountId, bucket.body.owner, "s3:GetBucketAcl");
      await this.s3.authorize(acl, "s3:GetBucketAcl", name, bucket.body, undefined, this.conditions(ca, call.accountId));
      const put = this.serviceCall(ca, call.accountId, bucket.body.owner, "s3:PutObject");
      await this.s3.authorize(put, "s3:PutObject", name, bucket.body, `crl/probe.crl`, this.conditions(ca, call.accountId));
    } catch (error) {
      if (error instanceof ServiceError && (error.code === "AccessDeniedException" || error.code === "AccessDenied")) {
        throw new ServiceError(
          "InvalidArgsException",
          `The S3 bucket policy of ${name} must allow ${ACMPCA_PRINCIPAL} s3:GetBucketAcl on the bucket and s3:PutObject on its objects for the CA's CRL.`,
        );
      }
      throw error;
    }
  }

  /** Builds the CA's next CRL, records its number and next update on the CA, then writes it to the bucket. */
  async publish(accountId: string, caId: string): Promise<void> {
    const ca = await this.pca.load(accountId, caId);
    const crl = ca?.body.revocation?.CrlConfiguration;
    if (!ca || !crl?.Enabled || !ca.body.certificate || ca.body.status === "DELETED") return;
    const now = this.pca.clock.now();
    const days = crl.ExpirationInDays ?? DEFAULT_CRL_EXPIRATION_DAYS;
    const number = ca.body.crlNumber + 1;
    const saved = await this.pca.save(ca, { ...ca.body, crlNumber: number, crlNextUpdate: now + days * DAY_MS });
    const der = await this.crl(saved, number, now, now + days * DAY_MS);
    await this.put(saved, crl.S3BucketName!, this.pca.crlKey(saved.body), der);
  }

  async crl(ca: Authority, number: number, thisUpdate: number, nextUpdate: number): Promise<Buffer> {
    const cert = certificateFacts(Buffer.from(ca.body.certificate!, "base64"))!;
    const revoked = await this.pca.revoked(ca.accountId, ca.body.id);
    return signCrl(
      {
        issuer: AsnConvert.parse(cert.subjectDer, x509.Name),
        signingAlgorithm: ca.body.configuration.SigningAlgorithm,
        thisUpdate: new Date(thisUpdate),
        nextUpdate: new Date(nextUpdate),
        number,
        authorityKeyId: createHash("sha1")
          .update(Buffer.from(AsnConvert.parse(cert.spkiDer, x509.SubjectPublicKeyInfo).subjectPublicKey))
          .digest(),
        revoked: revoked.map((r) => ({
          serial: Buffer.from(r.serial.length % 2 ? `0${r.serial}` : r.serial, "hex"),
          at: new Date(r.revokedAt!),
          reason: CRL_REASONS[r.reason!] ?? 0,
        })),
      },
      this.pca.signer(ca.body),
    );
  }

  /** Writes an object (a CRL, an audit report) into a keyhold bucket as acm-pca.amazonaws.com, which its policy must allow. */
  async put(ca: Authority, bucketName: string, key: string, der: Buffer, contentType = "application/pkix-crl"): Promise<void> {
    const bucket = await this.s3.requireBucket(bucketName);
    const call = this.serviceCall(ca.body, ca.accountId, bucket.body.owner, "s3:PutObject");
    await this.s3.authorize(call, "s3:PutObject", bucketName, bucket.body, key, this.conditions(ca.body, ca.accountId));
    const defaults = bucket.body.encryption;
    const choice =
      defaults.algorithm === "aws:kms"
        ? { algorithm: "aws:kms" as const, kmsKeyId: defaults.kmsKeyId, bucketKey: defaults.bucketKeyEnabled === true }
        : { algorithm: "AES256" as const };
    const { dataKey, sse } = await this.s3.newDataKey(call, bucketName, key, choice);
    let stored;
    try {
      stored = await this.s3.storeEncrypted(dataKey, Readable.from([der]), () => undefined);
    } finally {
      dataKey.fill(0);
    }
    const object: ObjectBody = {
      size: stored.part.size,
      etag: etagOf(createHash("md5").update(der).digest("hex")),
      lastModified: this.pca.clock.now(),
      contentType,
      headers: {},
      metadata: {},
      parts: [stored.part],
      sse,
    };
    try {
      await this.s3.commitObject(bucketName, key, object);
    } catch (error) {
      await this.s3.deleteFiles(object.parts);
      throw error;
    }
  }

  /** The scheduler's round: every CA whose CRL has less than half its life left (or none yet) gets a new one. */
  async refreshDue(accountIds: readonly string[]): Promise<number> {
    const now = this.pca.clock.now();
    let published = 0;
    for (const accountId of accountIds) {
      let after: string | undefined;
      for (;;) {
        const page = await this.pca.list(accountId, after, 1000);
        for (const ca of page.items) {
          const crl = ca.body.revocation?.CrlConfiguration;
          if (!crl?.Enabled || !ca.body.certificate || ca.body.status === "DELETED") continue;
          const half = ((crl.ExpirationInDays ?? DEFAULT_CRL_EXPIRATION_DAYS) * DAY_MS) / 2;
          if (ca.body.crlNextUpdate !== undefined && ca.body.crlNextUpdate - half > now) continue;
          await this.publish(accountId, ca.body.id);
          published++;
        }
        if (!page.next) break;
        after = page.next;
      }
    }
    return published;
  }
}
