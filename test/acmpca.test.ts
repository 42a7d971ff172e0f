/**
 * ACM Private CA through @aws-sdk/client-acm-pca, with the openssl command line as the
 * independent judge: a root and a subordinate CA, certificates from the templates, chains that
 * `openssl verify` accepts for RSA and EC, and each refusal AWS gives.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACMPCAClient,
  CreateCertificateAuthorityCommand,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
  ListCertificateAuthoritiesCommand,
  type IssueCertificateCommandInput,
} from "@aws-sdk/client-acm-pca";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { ACCOUNT_ID, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS } from "./iam.js";
import { requireTool } from "./process.js";
import { activateCa, caInput, opensslCsr, TEMPLATE as T, type CaIssuer } from "./pca-fixture.js";

const ARN = new RegExp(`^arn:aws:acm-pca:us-east-1:${ACCOUNT_ID}:certificate-authority/[0-9a-f-]{36}$`);

let server: TestServer;
let pca: ACMPCAClient;
let dir: string;

function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A key and CSR made by openssl: `-newkey ec` (P-256) or `rsa:2048`. */
function csrOf(name: string, newkey: string, subject: string, san?: string): Buffer {
  return opensslCsr(dir, name, { newkey, subject, san });
}

/** A CA made active: a root signs its own CSR (RootCACertificate/V1); a subordinate's is signed by `parent`. */
function activeCa(type: "ROOT" | "SUBORDINATE", key: string, signing: string, cn: string, parent?: CaIssuer) {
  return activateCa(pca, caInput(type, key, signing, cn), parent);
}

async function issue(input: Partial<IssueCertificateCommandInput> & { CertificateAuthorityArn: string; Csr: Uint8Array }) {
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      SigningAlgorithm: "SHA256WITHECDSA",
      Validity: { Type: "DAYS", Value: 30 },
      ...input,
    } as IssueCertificateCommandInput),
  );
  const got = await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: input.CertificateAuthorityArn, CertificateArn }));
  return { arn: CertificateArn!, pem: got.Certificate!, chain: got.CertificateChain };
}

describe("ACM Private CA", () => {
  let root: Awaited<ReturnType<typeof activeCa>>;
  let sub: Awaited<ReturnType<typeof activeCa>>;

  before(async () => {
    server = await startTestServer();
    pca = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    dir = tempDir("keyhold-pca-");
  });
  after(async () => {
    pca.destroy();
    await server.stop();
  });

  it("creates a root CA that waits for its certificate, with a CSR openssl verifies", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const { CertificateAuthorityArn } = await pca.send(
      new CreateCertificateAuthorityCommand(caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "pending root")),
    );
    assert.match(CertificateAuthorityArn!, ARN);
    const { CertificateAuthority: ca } = await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn }));
    assert.equal(ca!.Status, "PENDING_CERTIFICATE");
    assert.equal(ca!.Type, "ROOT");
    assert.equal(ca!.OwnerAccount, ACCOUNT_ID);
    assert.equal(ca!.CertificateAuthorityConfiguration!.KeyAlgorithm, "EC_prime256v1");
    assert.equal(ca!.KeyStorageSecurityStandard, "FIPS_140_2_LEVEL_3_OR_HIGHER");
    assert.equal(ca!.UsageMode, "GENERAL_PURPOSE");
    const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn }));
    const text = openssl("req", "-in", file("pending.csr", Csr!), "-verify", "-noout", "-subject");
    assert.match(text, /CN ?= ?pending root/);
    // Not yet: no certificate to give, nothing to issue but its own root certificate.
    await rejects(() => pca.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn })), "InvalidStateException");
    await rejects(
      () => issue({ CertificateAuthorityArn: CertificateAuthorityArn!, Csr: csrOf("early", "ec", "/CN=early") }),
      "InvalidStateException",
    );
  });

  it("makes an EC root and an RSA subordinate ACTIVE; their leaves verify with openssl", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    root = await activeCa("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "keyhold test root");
    const described = (await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn })))
      .CertificateAuthority!;
    assert.equal(described.Status, "ACTIVE");
    assert.ok(described.NotAfter! > new Date(Date.now() + 9 * 365 * 86_400_000));
    assert.ok(described.Serial);
    const rootText = openssl("x509", "-in", file("root.pem", root.certificate), "-noout", "-text");
    assert.match(rootText, /CA:TRUE/);
    assert.match(rootText, /Certificate Sign, CRL Sign/);
    assert.equal(root.chain, undefined);

    sub = await activeCa("SUBORDINATE", "RSA_2048", "SHA256WITHRSA", "keyhold test issuing CA", {
      arn: root.arn,
      signing: "SHA256WITHECDSA",
      template: `${T}SubordinateCACertificate_PathLen0/V1`,
    });
    const subText = openssl("x509", "-in", file("sub.pem", sub.certificate), "-noout", "-text");
    assert.match(subText, /CA:TRUE, pathlen:0/);
    assert.match(subText, /X509v3 Authority Key Identifier/);
    const caCert = await pca.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: sub.arn }));
    assert.equal(caCert.Certificate, sub.certificate);
    assert.equal(caCert.CertificateChain!.trim(), root.certificate.trim());
    openssl("verify", "-CAfile", file("root.pem", root.certificate), file("sub.pem", sub.certificate));

    // RSA issuing CA → EC leaf, the default template (EndEntityCertificate/V1), SANs from the CSR.
    const leaf = await issue({
      CertificateAuthorityArn: sub.arn,
      Csr: csrOf("leaf", "ec", "/CN=service.internal", "DNS:service.internal,DNS:*.service.internal,IP:10.0.0.7"),
      SigningAlgorithm: "SHA256WITHRSA",
    });
    assert.ok(leaf.arn.startsWith(`${sub.arn}/certificate/`));
    const leafFile = file("leaf.pem", leaf.pem);
    const verified = openssl(
      "verify",
      "-CAfile",
      file("root.pem", root.certificate),
      "-untrusted",
      file("sub.pem", sub.certificate),
      leafFile,
    );
    assert.match(verified, /leaf\.pem: OK/);
    // The chain GetCertificate gives is the issuing CA's certificate then the root's.
    assert.equal(leaf.chain!.split("BEGIN CERTIFICATE").length - 1, 2);
    const leafText = openssl("x509", "-in", leafFile, "-noout", "-text");
    assert.match(leafText, /CA:FALSE/);
    assert.match(leafText, /Digital Signature, Key Encipherment/);
    assert.match(leafText, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(leafText, /DNS:service\.internal, DNS:\*\.service\.internal, IP Address:10\.0\.0\.7/);
    assert.match(leafText, /X509v3 Subject Key Identifier/);
    assert.doesNotMatch(leafText, /CRL Distribution Points|Authority Information Access/, "no CRL or OCSP configured");
    // The serial is positive (top bit clear) and the ARN names it.
    const serial = openssl("x509", "-in", leafFile, "-noout", "-serial").trim().split("=")[1]!.toLowerCase();
    assert.ok(parseInt(serial.slice(0, 2), 16) < 0x80);
    assert.ok(leaf.arn.endsWith(`/certificate/${serial.replace(/^0+/, "")}`));

    // EC root → RSA leaf directly; an RSA-key CSR with the client-auth template.
    const client = await issue({
      CertificateAuthorityArn: root.arn,
      Csr: csrOf("client", "rsa:2048", "/CN=client one"),
      TemplateArn: `${T}EndEntityClientAuthCertificate/V1`,
    });
    assert.match(openssl("verify", "-CAfile", file("root.pem", root.certificate), file("client.pem", client.pem)), /OK/);
    assert.match(
      openssl("verify", "-purpose", "sslclient", "-CAfile", file("root.pem", root.certificate), file("client.pem", client.pem)),
      /OK/,
    );
    const clientText = openssl("x509", "-in", file("client.pem", client.pem), "-noout", "-text");
    assert.match(clientText, /TLS Web Client Authentication/);
    assert.doesNotMatch(clientText, /TLS Web Server Authentication/);
  });

  it("issues each template with its extensions", async (t: TestContext) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const csr = csrOf("tpl", "ec", "/CN=templated");
    const expect: Record<string, RegExp[]> = {
      "EndEntityServerAuthCertificate/V1": [/TLS Web Server Authentication/, /CA:FALSE/],
      "CodeSigningCertificate/V1": [/Extended Key Usage: critical\s+Code Signing/],
      "OCSPSigningCertificate/V1": [/Extended Key Usage: critical\s+OCSP Signing/],
      "SubordinateCACertificate_PathLen2/V1": [/CA:TRUE, pathlen:2/, /Certificate Sign, CRL Sign/],
    };
    for (const [template, patterns] of Object.entries(expect)) {
      const cert = await issue({ CertificateAuthorityArn: root.arn, Csr: csr, TemplateArn: `${T}${template}` });
      const text = openssl("x509", "-in", file("tpl.pem", cert.pem), "-noout", "-text");
      for (const p of patterns) assert.match(text, p, template);
    }
    // APIPassthrough: the request's subject and SANs.
    const passed = await issue({
      CertificateAuthorityArn: root.arn,
      Csr: csr,
      TemplateArn: `${T}EndEntityCertificate_APIPassthrough/V1`,
      ApiPassthrough: {
        Subject: { CommonName: "from the api" },
        Extensions: { SubjectAlternativeNames: [{ DnsName: "api.example" }], KeyUsage: { KeyAgreement: true } },
      },
    });
    const text = openssl("x509", "-in", file("api.pem", passed.pem), "-noout", "-text");
    assert.match(text, /Subject: CN ?= ?from the api/);
    assert.match(text, /DNS:api\.example/);
    // The template's key usage wins over the request's, as AWS orders them.
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    // Ignored, as AWS ignores it, with a template that does not pass it through.
    const ignored = await issue({
      CertificateAuthorityArn: root.arn,
      Csr: csr,
      ApiPassthrough: { Subject: { CommonName: "from the api" } },
    });
    assert.match(openssl("x509", "-in", file("ignored.pem", ignored.pem), "-noout", "-subject"), /CN ?= ?templated/);
  });

  it("answers the same certificate to a repeated IdempotencyToken, and distinct serials otherwise", async () => {
    const csr = csrOf("idem", "ec", "/CN=idem");
    const a = await issue({ CertificateAuthorityArn: root.arn, Csr: csr, IdempotencyToken: "token-1" });
    const b = await issue({ CertificateAuthorityArn: root.arn, Csr: csr, IdempotencyToken: "token-1" });
    const c = await issue({ CertificateAuthorityArn: root.arn, Csr: csr, IdempotencyToken: "token-2" });
    const d = await issue({ CertificateAuthorityArn: root.arn, Csr: csr });
    assert.equal(a.arn, b.arn);
    assert.equal(new Set([a.arn, c.arn, d.arn]).size, 3);
  });

  it("refuses what AWS refuses, issuing nothing", async () => {
    const csr = csrOf("refused", "ec", "/CN=refused");
    // A CSR whose signature does not verify.
    const der = opensslCsr(dir, "refused-der", { subject: "/CN=refused", outform: "DER" });
    der[der.length - 5] ^= 0x01;
    await rejects(() => issue({ CertificateAuthorityArn: root.arn, Csr: der }), "MalformedCSRException");
    await rejects(() => issue({ CertificateAuthorityArn: root.arn, Csr: Buffer.from("not a csr") }), "MalformedCSRException");
    // A validity beyond the CA's own.
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, Validity: { Type: "YEARS", Value: 20 } }),
      "InvalidArgsException",
    );
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, Validity: { Type: "END_DATE", Value: 20200101000000 } }),
      "InvalidArgsException",
    );
    // A signing algorithm of another key family than the CA's.
    await rejects(() => issue({ CertificateAuthorityArn: root.arn, Csr: csr, SigningAlgorithm: "SHA256WITHRSA" }), "InvalidArgsException");
    // A path length the issuing CA (pathlen 0) cannot give.
    await rejects(
      () =>
        issue({
          CertificateAuthorityArn: sub.arn,
          Csr: csr,
          SigningAlgorithm: "SHA256WITHRSA",
          TemplateArn: `${T}SubordinateCACertificate_PathLen0/V1`,
        }),
      "InvalidArgsException",
    );
    // A root template from an active CA, an unknown template.
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, TemplateArn: `${T}RootCACertificate/V1` }),
      "InvalidArgsException",
    );
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, TemplateArn: `${T}NoSuchTemplate/V1` }),
      "InvalidArgsException",
    );
    // Times past what X.509 can say.
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, Validity: { Type: "DAYS", Value: Number.MAX_SAFE_INTEGER } }),
      "InvalidArgsException",
    );
    await rejects(
      () => issue({ CertificateAuthorityArn: root.arn, Csr: csr, Validity: { Type: "ABSOLUTE", Value: 1e15 } }),
      "InvalidArgsException",
    );
    // ARNs: malformed, and of no CA.
    await rejects(
      () => issue({ CertificateAuthorityArn: `arn:aws:acm-pca:us-east-1:${ACCOUNT_ID}:certificate-authority/nope`, Csr: csr }),
      "InvalidArnException",
    );
    await rejects(
      () =>
        issue({
          CertificateAuthorityArn: `arn:aws:acm-pca:us-east-1:${ACCOUNT_ID}:certificate-authority/00000000-0000-4000-8000-000000000000`,
          Csr: csr,
        }),
      "ResourceNotFoundException",
    );
    // Key algorithms keyhold does not offer, and pairs that do not match.
    await rejects(
      () => pca.send(new CreateCertificateAuthorityCommand(caInput("ROOT", "SM2", "SM3WITHSM2", "sm2"))),
      "InvalidArgsException",
    );
    await rejects(
      () => pca.send(new CreateCertificateAuthorityCommand(caInput("ROOT", "ML_DSA_65", "SHA256WITHECDSA", "pq mismatch"))),
      "InvalidArgsException",
    );
    await rejects(
      () => pca.send(new CreateCertificateAuthorityCommand(caInput("ROOT", "RSA_2048", "SHA256WITHECDSA", "mismatch"))),
      "InvalidArgsException",
    );
  });

  it("checks an imported CA certificate as AWS does", async () => {
    const { CertificateAuthorityArn: arn } = await pca.send(
      new CreateCertificateAuthorityCommand(caInput("SUBORDINATE", "EC_secp384r1", "SHA384WITHECDSA", "import checks")),
    );
    const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
    const signed = await issue({
      CertificateAuthorityArn: root.arn,
      Csr: Buffer.from(Csr!),
      TemplateArn: `${T}SubordinateCACertificate_PathLen0/V1`,
    });
    const importing = (certificate: string, chain?: string) =>
      pca.send(
        new ImportCertificateAuthorityCertificateCommand({
          CertificateAuthorityArn: arn,
          Certificate: Buffer.from(certificate),
          CertificateChain: chain === undefined ? undefined : Buffer.from(chain),
        }),
      );
    await rejects(() => importing(signed.pem), "InvalidRequestException"); // no chain
    await rejects(() => importing(signed.pem, sub.certificate), "InvalidRequestException"); // the wrong parent
    await rejects(() => importing(sub.certificate, root.certificate), "CertificateMismatchException"); // another CA's key
    await rejects(() => importing("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "MalformedCertificateException");
    // An end-entity certificate for the CA's key is no CA certificate.
    const notCa = await issue({ CertificateAuthorityArn: root.arn, Csr: Buffer.from(Csr!) });
    await rejects(() => importing(notCa.pem, root.certificate), "InvalidRequestException");
    assert.equal(
      (await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }))).CertificateAuthority!.Status,
      "PENDING_CERTIFICATE",
    );
    await importing(signed.pem, signed.chain);
    assert.equal(
      (await pca.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }))).CertificateAuthority!.Status,
      "ACTIVE",
    );
  });

  it("lists the account's CAs with paging, and refuses callers IAM does not allow", async () => {
    const all = [];
    let NextToken: string | undefined;
    do {
      const page = await pca.send(new ListCertificateAuthoritiesCommand({ MaxResults: 2, NextToken }));
      assert.ok(page.CertificateAuthorities!.length <= 2);
      all.push(...page.CertificateAuthorities!);
      NextToken = page.NextToken;
    } while (NextToken);
    assert.ok(all.some((c) => c.Arn === root.arn) && all.some((c) => c.Arn === sub.arn));
    assert.equal(new Set(all.map((c) => c.Arn)).size, all.length);

    const iam = iamClient(server.url);
    const creds = await makeUser(iam, "pca-reader", {
      read: policy({ Effect: "Allow", Action: ["acm-pca:DescribeCertificateAuthority", "acm-pca:GetCertificate"], Resource: root.arn }),
    });
    const limited = new ACMPCAClient({ endpoint: server.url, region: "us-east-1", credentials: creds, maxAttempts: 1 });
    try {
      await limited.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: root.arn }));
      await rejects(
        () => limited.send(new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: sub.arn })),
        "AccessDeniedException",
      );
      await rejects(
        () =>
          limited.send(
            new IssueCertificateCommand({
              CertificateAuthorityArn: root.arn,
              Csr: csrOf("denied", "ec", "/CN=denied"),
              SigningAlgorithm: "SHA256WITHECDSA",
              Validity: { Type: "DAYS", Value: 1 },
            }),
          ),
        "AccessDeniedException",
      );
      await rejects(() => limited.send(new ListCertificateAuthoritiesCommand({})), "AccessDeniedException");
    } finally {
      limited.destroy();
      iam.destroy();
    }
  });

  it("records every call in the audit trail under acm-pca.amazonaws.com, without private keys", async () => {
    const ct = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    try {
      const events = (
        await ct.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "acm-pca.amazonaws.com" }],
            MaxResults: 50,
          }),
        )
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!));
      const names = new Set(events.map((e) => e.eventName));
      for (const n of ["CreateCertificateAuthority", "IssueCertificate", "ImportCertificateAuthorityCertificate", "GetCertificate"])
        assert.ok(names.has(n), n);
      const issued = events.find((e) => e.eventName === "IssueCertificate" && e.errorCode === undefined)!;
      assert.ok(issued.resources.some((r: { type: string }) => r.type === "AWS::ACMPCA::CertificateAuthority"));
      assert.ok(!JSON.stringify(events).includes("PRIVATE KEY"));
    } finally {
      ct.destroy();
    }
  });
});
