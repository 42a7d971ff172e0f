/**
 * ML-DSA private CAs (RFC 9881) through @aws-sdk/client-acm-pca: a root of each parameter set
 * signing its own CSR, a subordinate, leaves with ML-DSA, EC and RSA keys, the CRL in keyhold's S3
 * and the OCSP responder's answers. This machine's OpenSSL (3.0) cannot verify ML-DSA, so the judge
 * is test/ml-dsa-judge.ts (the signed bytes cut out with @peculiar/asn1-*, the signature checked
 * with @noble/post-quantum); where `openssl version` is 3.5 or later, `openssl verify` judges the
 * chains too.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn1 from "@peculiar/asn1-x509";
import { Attributes, CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { CertID, OCSPRequest, OCSPResponse, Request, TBSRequest } from "@peculiar/asn1-ocsp";
import {
  ACMPCAClient,
  CreateCertificateAuthorityCommand,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
  RevokeCertificateCommand,
  type CreateCertificateAuthorityCommandInput,
} from "@aws-sdk/client-acm-pca";
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, type S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { ACCOUNT_ID, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { bytesOf, s3Client } from "./s3.js";
import {
  algorithmDer,
  certOf,
  judgeCrl,
  judgeCsr,
  judgeIssued,
  judgeOcsp,
  keyUsageOf,
  mlDsaKey,
  opensslKnowsMlDsa,
  type Level,
} from "./ml-dsa-judge.js";
import { activateCa, caInput, opensslCsr, TEMPLATE as T, type CaIssuer } from "./pca-fixture.js";

const BUCKET = "pq-crls";

let server: TestServer;
let pca: ACMPCAClient;
let s3: S3Client;
let dir: string;

function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function getCert(caArn: string, certArn: string) {
  return pca.send(new GetCertificateCommand({ CertificateAuthorityArn: caArn, CertificateArn: certArn }));
}

/** Creates an ML-DSA CA, checks its CSR with the judge, has it signed (root: by itself) and imports it. */
function activeCa(
  type: "ROOT" | "SUBORDINATE",
  level: Level,
  cn: string,
  parent?: CaIssuer,
  extra: Partial<CreateCertificateAuthorityCommandInput> = {},
) {
  return activateCa(pca, caInput(type, level, level, cn, extra), parent, (csr) => assert.equal(judgeCsr(csr), level));
}

/** A PKCS#10 request for a fresh ML-DSA-44 key, signed by it (what `openssl req` 3.5 would make). */
function mlDsaCsr(cn: string, tamper = false): Buffer {
  const keys = ml_dsa44.keygen();
  const info = new CertificationRequestInfo({
    version: 0,
    subject: new asn1.Name([
      new asn1.RelativeDistinguishedName([
        new asn1.AttributeTypeAndValue({ type: "2.5.4.3", value: new asn1.AttributeValue({ utf8String: cn }) }),
      ]),
    ]),
    subjectPKInfo: new asn1.SubjectPublicKeyInfo({
      algorithm: new asn1.AlgorithmIdentifier({ algorithm: "2.16.840.1.101.3.4.3.17" }),
      subjectPublicKey: keys.publicKey.slice().buffer,
    }),
    attributes: new Attributes([]),
  });
  const signature = ml_dsa44.sign(new Uint8Array(AsnConvert.serialize(info)), keys.secretKey);
  if (tamper) signature[10]! ^= 1;
  return Buffer.from(
    AsnConvert.serialize(
      new CertificationRequest({
        certificationRequestInfo: info,
        signatureAlgorithm: new asn1.AlgorithmIdentifier({ algorithm: "2.16.840.1.101.3.4.3.17" }),
        signature: signature.slice().buffer,
      }),
    ),
  );
}

async function issueLeaf(caArn: string, level: Level, csr: Buffer, template = "EndEntityCertificate/V1") {
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: caArn,
      Csr: csr,
      SigningAlgorithm: level as never,
      TemplateArn: `${T}${template}`,
      Validity: { Type: "DAYS", Value: 30 },
    }),
  );
  const got = await getCert(caArn, CertificateArn!);
  return { arn: CertificateArn!, pem: got.Certificate!, chain: got.CertificateChain! };
}

/** One OCSP request (POST) for a serial of the CA, and the BasicOCSPResponse's DER. */
async function askOcsp(url: string, caPem: string, serialHex: string): Promise<Buffer> {
  const ca = certOf(caPem).cert;
  const sha1 = (b: ArrayBuffer | Uint8Array) => createHash("sha1").update(new Uint8Array(b)).digest();
  const certID = new CertID({
    hashAlgorithm: new asn1.AlgorithmIdentifier({ algorithm: "1.3.14.3.2.26", parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(ca.tbsCertificate.subject))),
    issuerKeyHash: new OctetString(sha1(ca.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: new Uint8Array(Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, "hex")).buffer,
  });
  const request = new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certID })] }) });
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/ocsp-request" },
    body: Buffer.from(AsnConvert.serialize(request)),
  });
  assert.equal(response.status, 200);
  const parsed = AsnConvert.parse(Buffer.from(await response.arrayBuffer()), OCSPResponse);
  assert.equal(parsed.responseStatus, 0, "successful");
  return Buffer.from(parsed.responseBytes!.response.buffer);
}

/** The certificates of a PEM text, as base64 DER. */
function ders(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ""));
}

function serialOf(pem: string): string {
  return Buffer.from(certOf(pem).cert.tbsCertificate.serialNumber)
    .toString("hex")
    .replace(/^(00)+(?=.)/, "");
}

describe("ML-DSA private CAs", () => {
  let root: Awaited<ReturnType<typeof activeCa>>;
  let sub: Awaited<ReturnType<typeof activeCa>>;

  before(async () => {
    server = await startTestServer();
    pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    s3 = s3Client(server.url, ROOT_CREDS);
    dir = tempDir("keyhold-pca-mldsa-");
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "acm-pca.amazonaws.com" },
              Action: ["s3:PutObject", "s3:GetBucketAcl"],
              Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
              Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
            },
          ],
        }),
      }),
    );
  });
  after(async () => {
    pca.destroy();
    s3.destroy();
    await server.stop();
  });

  for (const level of ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"] as const) {
    it(`makes a self-signed ${level} root: its CSR and certificate carry id-ml-dsa without parameters and verify`, async () => {
      const ca = await activeCa("ROOT", level, `pq root ${level}`);
      const described = await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: ca.arn }));
      assert.equal(described.CertificateAuthority!.Status, "ACTIVE");
      assert.equal(described.CertificateAuthority!.CertificateAuthorityConfiguration!.KeyAlgorithm, level);
      const got = await pca.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: ca.arn }));
      const { der, cert } = certOf(got.Certificate!);
      assert.equal(mlDsaKey(cert.tbsCertificate.subjectPublicKeyInfo).level, level);
      // The AlgorithmIdentifier appears as RFC 9881 writes it: in the TBS and outside it.
      assert.equal(der.indexOf(algorithmDer(level)) > 0 && der.lastIndexOf(algorithmDer(level)) > der.indexOf(algorithmDer(level)), true);
      judgeIssued(got.Certificate!, got.Certificate!);
      assert.equal(keyUsageOf(cert)! & (32 | 64), 32 | 64, "keyCertSign and cRLSign");
    });
  }

  it("chains an ML-DSA-87 root, an ML-DSA-65 subordinate with CRL and OCSP, and ML-DSA, EC and RSA leaves", async (t: TestContext) => {
    root = await activeCa("ROOT", "ML_DSA_87", "pq chain root");
    sub = await activeCa(
      "SUBORDINATE",
      "ML_DSA_65",
      "pq chain sub",
      { arn: root.arn, signing: "ML_DSA_87", template: `${T}SubordinateCACertificate_PathLen0/V1` },
      {
        RevocationConfiguration: {
          CrlConfiguration: { Enabled: true, S3BucketName: BUCKET, ExpirationInDays: 7 },
          OcspConfiguration: { Enabled: true },
        },
      },
    );
    judgeIssued(sub.certificate, root.certificate);
    assert.deepEqual(ders(sub.chain!), ders(root.certificate));

    const pq = await issueLeaf(sub.arn, "ML_DSA_65", mlDsaCsr("pq-leaf.example.com"));
    judgeIssued(pq.pem, sub.certificate);
    assert.deepEqual(ders(pq.chain), [...ders(sub.certificate), ...ders(root.certificate)]);
    // RFC 9881 §5: no keyEncipherment for an ML-DSA key, though EndEntityCertificate asks for it for others.
    assert.equal(keyUsageOf(certOf(pq.pem).cert), 1, "digitalSignature only");

    if (!requireTool(t, "openssl", "openssl")) return;
    const ec = await issueLeaf(sub.arn, "ML_DSA_65", opensslCsr(dir, "ec-leaf"), "EndEntityServerAuthCertificate/V1");
    judgeIssued(ec.pem, sub.certificate);
    const rsa = await issueLeaf(sub.arn, "ML_DSA_65", opensslCsr(dir, "rsa-leaf", { newkey: "rsa:2048" }));
    judgeIssued(rsa.pem, sub.certificate);
    assert.equal(keyUsageOf(certOf(rsa.pem).cert), 1 | 4, "an RSA leaf keeps the template's keyEncipherment");
    // OpenSSL 3.0 still reads the classical leaf: its key and its extensions.
    const text = execFileSync("openssl", ["x509", "-in", file("ec.pem", ec.pem), "-noout", "-text"], { encoding: "utf8" });
    assert.match(text, /Signature Algorithm: (2\.16\.840\.1\.101\.3\.4\.3\.18|ML-DSA-65)/);
    assert.match(text, /Public Key Algorithm: id-ecPublicKey/);
    assert.match(text, /OCSP - URI:/);

    if (opensslKnowsMlDsa()) {
      const out = execFileSync(
        "openssl",
        [
          "verify",
          "-CAfile",
          file("root.pem", root.certificate),
          "-untrusted",
          file("sub.pem", sub.certificate),
          file("pq.pem", pq.pem),
          file("ec.pem", ec.pem),
        ],
        { encoding: "utf8" },
      );
      assert.match(out, /pq\.pem: OK/);
      assert.match(out, /ec\.pem: OK/);
    } else {
      t.diagnostic("openssl older than 3.5: the chain was judged by @noble/post-quantum only");
    }

    // Revocation: the CRL in S3 is signed by the subordinate and lists the serial; OCSP says revoked and good.
    await pca.send(
      new RevokeCertificateCommand({
        CertificateAuthorityArn: sub.arn,
        CertificateSerial: serialOf(ec.pem),
        RevocationReason: "KEY_COMPROMISE",
      }),
    );
    const crl = await bytesOf((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `crl/${sub.id}.crl` }))).Body);
    assert.deepEqual(judgeCrl(crl, sub.certificate), [serialOf(ec.pem)]);
    const crlText = execFileSync("openssl", ["crl", "-inform", "DER", "-in", file("sub.crl", crl), "-noout", "-text"], {
      encoding: "utf8",
    });
    assert.match(crlText, new RegExp(`Serial Number: ${serialOf(ec.pem).toUpperCase()}`));

    const ocspUrl = `${server.url}/_keyhold/ocsp/${sub.id}`;
    const revoked = judgeOcsp(await askOcsp(ocspUrl, sub.certificate, serialOf(ec.pem)), sub.certificate);
    assert.ok(revoked.tbsResponseData.responses[0]!.certStatus.revoked, "revoked");
    assert.equal(revoked.tbsResponseData.responses[0]!.certStatus.revoked!.revocationReason?.reason, 1);
    const good = judgeOcsp(await askOcsp(ocspUrl, sub.certificate, serialOf(pq.pem)), sub.certificate);
    assert.equal(good.tbsResponseData.responses[0]!.certStatus.good, null);
  });

  it("refuses pairs that do not match, a bad ML-DSA CSR and a chain from another root", async () => {
    for (const [key, signing] of [
      ["ML_DSA_65", "ML_DSA_44"],
      ["ML_DSA_44", "SHA256WITHECDSA"],
      ["RSA_2048", "ML_DSA_65"],
      ["SM2", "SM3WITHSM2"],
    ]) {
      await rejects(
        () => pca.send(new CreateCertificateAuthorityCommand(caInput("ROOT", key!, signing!, "mismatch"))),
        "InvalidArgsException",
      );
    }
    const other = await activeCa("ROOT", "ML_DSA_44", "pq other root");
    await rejects(
      () =>
        pca.send(
          new IssueCertificateCommand({
            CertificateAuthorityArn: other.arn,
            Csr: mlDsaCsr("x"),
            SigningAlgorithm: "ML_DSA_65" as never,
            Validity: { Type: "DAYS", Value: 1 },
          }),
        ),
      "InvalidArgsException",
    );
    await rejects(
      () =>
        pca.send(
          new IssueCertificateCommand({
            CertificateAuthorityArn: other.arn,
            Csr: mlDsaCsr("tampered", true),
            SigningAlgorithm: "ML_DSA_44" as never,
            Validity: { Type: "DAYS", Value: 1 },
          }),
        ),
      "MalformedCSRException",
    );

    // A subordinate signed by `root`, imported with `other` as its chain: refused, and the CA stays pending.
    const { CertificateAuthorityArn: arn } = await pca.send(
      new CreateCertificateAuthorityCommand(caInput("SUBORDINATE", "ML_DSA_44", "ML_DSA_44", "pq wrong chain")),
    );
    const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
    const { CertificateArn } = await pca.send(
      new IssueCertificateCommand({
        CertificateAuthorityArn: root.arn,
        Csr: Buffer.from(Csr!),
        SigningAlgorithm: "ML_DSA_87" as never,
        TemplateArn: `${T}SubordinateCACertificate_PathLen0/V1`,
        Validity: { Type: "YEARS", Value: 1 },
      }),
    );
    const signed = await getCert(root.arn, CertificateArn!);
    await rejects(
      () =>
        pca.send(
          new ImportCertificateAuthorityCertificateCommand({
            CertificateAuthorityArn: arn,
            Certificate: Buffer.from(signed.Certificate!),
            CertificateChain: Buffer.from(other.certificate),
          }),
        ),
      "InvalidRequestException",
    );
    const described = await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }));
    assert.equal(described.CertificateAuthority!.Status, "PENDING_CERTIFICATE");
    await pca.send(
      new ImportCertificateAuthorityCertificateCommand({
        CertificateAuthorityArn: arn,
        Certificate: Buffer.from(signed.Certificate!),
        CertificateChain: Buffer.from(signed.CertificateChain!),
      }),
    );
  });
});
