/** ACM through @aws-sdk/client-acm: import, describe, get, list, tags, account configuration, delete, export, request, renewal. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ExportCertificateCommand,
  GetAccountConfigurationCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  type ImportCertificateCommandInput,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  PutAccountConfigurationCommand,
  RemoveTagsFromCertificateCommand,
  RenewCertificateCommand,
  RequestCertificateCommand,
} from "@aws-sdk/client-acm";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { ACCOUNT_ID, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";
import { makeCa, makeLeaf, P256, TestIssuer, type Authority } from "./acm-pki.js";
import { requireTool } from "./process.js";

const CA_ARN = `arn:aws:acm-pca:us-east-1:${ACCOUNT_ID}:certificate-authority/11111111-2222-3333-4444-555555555555`;
const ARN_PATTERN = new RegExp(`^arn:aws:acm:us-east-1:${ACCOUNT_ID}:certificate/[0-9a-f-]{36}$`);
const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("ACM", () => {
  let server: TestServer;
  let clock: ManualClock;
  let root: Authority;
  let intermediate: Authority;
  let issuer: TestIssuer;
  let acm: ACMClient;
  const acmAs = (credentials: Creds = ROOT_CREDS) =>
    new ACMClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });

  before(async () => {
    clock = new ManualClock(Date.now());
    root = await makeCa("keyhold test root");
    intermediate = await makeCa("keyhold test intermediate", Date.now(), root);
    issuer = new TestIssuer(root, CA_ARN, clock);
    server = await startTestServer({ clock, start: { certificateIssuer: issuer } });
    acm = acmAs();
  });
  after(async () => {
    acm.destroy();
    await server.stop();
  });

  it("imports a certificate with its chain; describes it, gets it back, lists it", async () => {
    const leaf = await makeLeaf(intermediate, { cn: "api.example.com", sans: ["api.example.com", "www.example.com"] });
    const chain = intermediate.pem + root.pem;
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem), CertificateChain: utf8(chain) }),
    );
    assert.match(arn!, ARN_PATTERN);
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.equal(d.Type, "IMPORTED");
    assert.equal(d.Status, "ISSUED");
    assert.equal(d.DomainName, "api.example.com");
    assert.deepEqual(d.SubjectAlternativeNames, ["api.example.com", "www.example.com"]);
    assert.equal(d.KeyAlgorithm, "RSA_2048");
    assert.equal(d.SignatureAlgorithm, "SHA256WITHECDSA");
    assert.equal(d.Subject, "CN=api.example.com");
    assert.equal(d.Issuer, "CN=keyhold test intermediate");
    const node = new X509Certificate(leaf.certPem);
    assert.equal(d.Serial!.replace(/:/g, "").toUpperCase().replace(/^0+/, ""), node.serialNumber.replace(/^0+/, ""));
    assert.equal(d.NotAfter!.getTime(), Date.parse(node.validTo));
    assert.deepEqual(
      d.KeyUsages!.map((k) => k.Name),
      ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    );
    assert.deepEqual(d.ExtendedKeyUsages, [{ Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1" }]);
    assert.ok(d.ImportedAt && !d.IssuedAt);
    assert.deepEqual(d.InUseBy, []);
    assert.equal(d.RenewalEligibility, "INELIGIBLE");

    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    assert.equal(new X509Certificate(got.Certificate!).fingerprint256, node.fingerprint256);
    assert.equal(got.CertificateChain!.match(/BEGIN CERTIFICATE/g)!.length, 2);
    assert.equal(new X509Certificate(got.CertificateChain!).subject, "CN=keyhold test intermediate");

    // A key written by OpenSSL as PKCS#1 / SEC 1 is accepted too; an EC certificate is EC_prime256v1.
    const ec = await makeLeaf(root, { cn: "ec.example.com", algorithm: P256 });
    const { CertificateArn: ecArn } = await acm.send(
      new ImportCertificateCommand({
        Certificate: utf8(ec.certPem),
        PrivateKey: utf8(ec.traditionalKeyPem),
        CertificateChain: utf8(root.pem),
      }),
    );
    assert.equal((await acm.send(new DescribeCertificateCommand({ CertificateArn: ecArn }))).Certificate!.KeyAlgorithm, "EC_prime256v1");
    const listed = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!;
    assert.ok(listed.some((s) => s.CertificateArn === arn && s.Type === "IMPORTED" && s.DomainName === "api.example.com"));
    assert.ok(!listed.some((s) => s.CertificateArn === ecArn), "without keyTypes ACM lists RSA_1024 and RSA_2048 only");
  });

  it("refuses a certificate that does not check out, and stores nothing", async () => {
    const before = (await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] } })))
      .CertificateSummaryList!.length;
    const leaf = await makeLeaf(intermediate);
    const other = await makeLeaf(intermediate);
    const elsewhere = await makeCa("someone else's CA");
    const expired = await makeLeaf(root, { notBefore: Date.now() - 30 * DAY_MS, notAfter: Date.now() - DAY_MS });
    const future = await makeLeaf(root, { notBefore: Date.now() + DAY_MS, notAfter: Date.now() + 30 * DAY_MS });
    const encrypted = Buffer.from(
      (await import("node:crypto"))
        .createPrivateKey(leaf.keyPem)
        .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" }) as string,
    );
    const cases: [string, ImportCertificateCommandInput, RegExp][] = [
      ["a key of another certificate", { Certificate: utf8(leaf.certPem), PrivateKey: utf8(other.keyPem) }, /does not match/],
      [
        "a chain of another CA",
        { Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem), CertificateChain: utf8(elsewhere.pem) },
        /chain/,
      ],
      [
        "a chain missing the intermediate",
        { Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem), CertificateChain: utf8(root.pem) },
        /chain/,
      ],
      ["an expired certificate", { Certificate: utf8(expired.certPem), PrivateKey: utf8(expired.keyPem) }, /not valid now/],
      ["a certificate not yet valid", { Certificate: utf8(future.certPem), PrivateKey: utf8(future.keyPem) }, /not valid now/],
      ["an encrypted private key", { Certificate: utf8(leaf.certPem), PrivateKey: encrypted }, /encrypted/],
      ["two certificates", { Certificate: utf8(leaf.certPem + other.certPem), PrivateKey: utf8(leaf.keyPem) }, /more than one certificate/],
      ["no PEM at all", { Certificate: utf8("hello"), PrivateKey: utf8(leaf.keyPem) }, /PEM/],
      [
        "a garbled certificate",
        { Certificate: utf8("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), PrivateKey: utf8(leaf.keyPem) },
        /parsed/,
      ],
      [
        "a key that is not a key",
        { Certificate: utf8(leaf.certPem), PrivateKey: utf8("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") },
        /parsed/,
      ],
    ];
    for (const [what, input, message] of cases) {
      const e = await rejects(() => acm.send(new ImportCertificateCommand(input)), "ValidationException");
      assert.match(e.message, message, what);
      assert.equal(e.$metadata?.httpStatusCode, 400, what);
    }
    // The model's bounds: a private key over 5,120 bytes.
    await rejects(
      () => acm.send(new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: Buffer.alloc(5121, 0x41) })),
      "ValidationException",
    );
    const afterwards = (await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] } })))
      .CertificateSummaryList!.length;
    assert.equal(afterwards, before);
  });

  it("re-imports to the same ARN: new certificate, same tags; other ARNs are refused", async () => {
    const first = await makeLeaf(root, { cn: "reimport.example.com" });
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({
        Certificate: utf8(first.certPem),
        PrivateKey: utf8(first.keyPem),
        Tags: [{ Key: "team", Value: "blue" }],
      }),
    );
    const second = await makeLeaf(root, { cn: "reimport.example.com" });
    const again = await acm.send(
      new ImportCertificateCommand({ CertificateArn: arn, Certificate: utf8(second.certPem), PrivateKey: utf8(second.keyPem) }),
    );
    assert.equal(again.CertificateArn, arn);
    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    assert.equal(new X509Certificate(got.Certificate!).serialNumber, new X509Certificate(second.certPem).serialNumber);
    assert.equal(got.CertificateChain, undefined);
    assert.deepEqual((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags, [{ Key: "team", Value: "blue" }]);
    const missing = `arn:aws:acm:us-east-1:${ACCOUNT_ID}:certificate/00000000-0000-4000-8000-000000000000`;
    await rejects(
      () =>
        acm.send(
          new ImportCertificateCommand({ CertificateArn: missing, Certificate: utf8(second.certPem), PrivateKey: utf8(second.keyPem) }),
        ),
      "ResourceNotFoundException",
    );
    await rejects(
      () => acm.send(new DescribeCertificateCommand({ CertificateArn: "arn:aws:kms:us-east-1:111122223333:key/abc" })),
      "InvalidArnException",
    );
    // Another region's certificate is not found here.
    await rejects(
      () => acm.send(new DescribeCertificateCommand({ CertificateArn: arn!.replace("us-east-1", "eu-west-1") })),
      "ResourceNotFoundException",
    );
  });

  it("lists by key type, status, extended key usage; pages and sorts", async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      const leaf = await makeLeaf(root, { cn: `client${i}.example.com`, algorithm: P256, clientAuth: true });
      made.push(
        (await acmAs().send(new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) })))
          .CertificateArn!,
      );
    }
    const clients = (
      await acm.send(
        new ListCertificatesCommand({ Includes: { keyTypes: ["EC_prime256v1"], extendedKeyUsage: ["TLS_WEB_CLIENT_AUTHENTICATION"] } }),
      )
    ).CertificateSummaryList!;
    assert.deepEqual(
      clients.map((c) => c.CertificateArn),
      made,
    );
    assert.deepEqual(clients[0]!.ExtendedKeyUsages, ["TLS_WEB_CLIENT_AUTHENTICATION"]);
    assert.deepEqual(clients[0]!.KeyUsages, ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"]);
    // Pages of one, newest first.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await acm.send(
        new ListCertificatesCommand({
          Includes: { keyTypes: ["EC_prime256v1"], extendedKeyUsage: ["TLS_WEB_CLIENT_AUTHENTICATION"] },
          MaxItems: 1,
          NextToken: token,
          SortBy: "CREATED_AT",
          SortOrder: "DESCENDING",
        }),
      );
      assert.ok(page.CertificateSummaryList!.length <= 1);
      seen.push(...page.CertificateSummaryList!.map((c) => c.CertificateArn!));
      token = page.NextToken;
    } while (token);
    assert.deepEqual(seen, [...made].reverse());
    const none = await acm.send(
      new ListCertificatesCommand({ CertificateStatuses: ["EXPIRED"], Includes: { keyTypes: ["EC_prime256v1"] } }),
    );
    assert.deepEqual(none.CertificateSummaryList, []);
    await rejects(() => acm.send(new ListCertificatesCommand({ NextToken: "bm9wZQ" })), "InvalidArgsException");
    await rejects(() => acm.send(new ListCertificatesCommand({ MaxItems: 1001 })), "ValidationException");
    await rejects(() => acm.send(new ListCertificatesCommand({ CertificateStatuses: ["SHINY" as never] })), "ValidationException");
  });

  it("tags: add, overwrite, remove by key or by key and value; refuses aws: and more than 50", async () => {
    const leaf = await makeLeaf(root);
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) }),
    );
    await acm.send(
      new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }, { Key: "c" }] }),
    );
    await acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: "a", Value: "one" }] }));
    await acm.send(new RemoveTagsFromCertificateCommand({ CertificateArn: arn, Tags: [{ Key: "b", Value: "not 2" }, { Key: "c" }] }));
    const tags = (await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags!;
    assert.deepEqual(
      [...tags].sort((x, y) => x.Key!.localeCompare(y.Key!)),
      [
        { Key: "a", Value: "one" },
        { Key: "b", Value: "2" },
      ],
    );
    await rejects(
      () => acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: "aws:x", Value: "1" }] })),
      "InvalidTagException",
    );
    await rejects(
      () => acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: "a<b>", Value: "1" }] })),
      "InvalidTagException",
    );
    const many = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await rejects(() => acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: many })), "TooManyTagsException");
    assert.equal((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags!.length, 2, "nothing half-added");
  });

  it("account configuration: 45 days by default; a token repeated within the hour changes nothing", async () => {
    const get = async () => (await acm.send(new GetAccountConfigurationCommand({}))).ExpiryEvents!.DaysBeforeExpiry;
    assert.equal(await get(), 45);
    await acm.send(new PutAccountConfigurationCommand({ IdempotencyToken: "first", ExpiryEvents: { DaysBeforeExpiry: 30 } }));
    assert.equal(await get(), 30);
    await acm.send(new PutAccountConfigurationCommand({ IdempotencyToken: "first", ExpiryEvents: { DaysBeforeExpiry: 10 } }));
    assert.equal(await get(), 30);
    clock.advance(3_600_001);
    await acmAs().send(new PutAccountConfigurationCommand({ IdempotencyToken: "first", ExpiryEvents: { DaysBeforeExpiry: 10 } }));
    assert.equal(
      await acmAs()
        .send(new GetAccountConfigurationCommand({}))
        .then((r) => r.ExpiryEvents!.DaysBeforeExpiry),
      10,
    );
    await rejects(
      () => acmAs().send(new PutAccountConfigurationCommand({ IdempotencyToken: "x", ExpiryEvents: { DaysBeforeExpiry: 46 } })),
      "ValidationException",
    );
    await rejects(() => acmAs().send(new PutAccountConfigurationCommand({ IdempotencyToken: "not a word!" })), "ValidationException");
    // Back to the time the other tests' certificates and clients expect.
    clock.advance(-3_600_001);
  });

  it("deletes a certificate and its key", async () => {
    const leaf = await makeLeaf(root);
    const { CertificateArn: arn } = await acm.send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) }),
    );
    await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }));
    await rejects(() => acm.send(new DescribeCertificateCommand({ CertificateArn: arn })), "ResourceNotFoundException");
    await rejects(() => acm.send(new DeleteCertificateCommand({ CertificateArn: arn })), "ResourceNotFoundException");
  });

  it("refuses a public certificate request (keyhold cannot validate domains) and requests a private one from the CA", async () => {
    const refused = await rejects(
      () => acm.send(new RequestCertificateCommand({ DomainName: "www.example.com", ValidationMethod: "DNS" })),
      "InvalidParameterException",
    );
    assert.match(refused.message, /cannot validate/);
    await rejects(
      () =>
        acm.send(
          new RequestCertificateCommand({ DomainName: "www.example.com", CertificateAuthorityArn: CA_ARN, KeyAlgorithm: "RSA_4096" }),
        ),
      "ValidationException",
    );
    await rejects(
      () => acm.send(new RequestCertificateCommand({ DomainName: "-bad-.example", CertificateAuthorityArn: CA_ARN })),
      "ValidationException",
    );

    const { CertificateArn: arn } = await acm.send(
      new RequestCertificateCommand({
        DomainName: "svc.internal.example",
        SubjectAlternativeNames: ["*.svc.internal.example", "svc.internal.example"],
        CertificateAuthorityArn: CA_ARN,
        KeyAlgorithm: "EC_prime256v1",
        IdempotencyToken: "once",
        Tags: [{ Key: "env", Value: "test" }],
      }),
    );
    assert.match(arn!, ARN_PATTERN);
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.equal(d.Type, "PRIVATE");
    assert.equal(d.Status, "ISSUED");
    assert.equal(d.KeyAlgorithm, "EC_prime256v1");
    assert.equal(d.CertificateAuthorityArn, CA_ARN);
    assert.deepEqual(d.SubjectAlternativeNames, ["svc.internal.example", "*.svc.internal.example"]);
    assert.equal(d.RenewalEligibility, "ELIGIBLE");
    assert.ok(d.IssuedAt);
    // 395 days, as ACM's private certificates.
    assert.equal(Math.round((d.NotAfter!.getTime() - clock.now()) / DAY_MS), 395);
    const got = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
    assert.equal(new X509Certificate(got.Certificate!).checkIssued(new X509Certificate(got.CertificateChain!)), true);
    assert.match(new X509Certificate(got.Certificate!).subjectAltName!, /DNS:\*\.svc\.internal\.example/);
    // The same token within the hour is the same request.
    const again = await acm.send(
      new RequestCertificateCommand({
        DomainName: "svc.internal.example",
        CertificateAuthorityArn: CA_ARN,
        KeyAlgorithm: "EC_prime256v1",
        IdempotencyToken: "once",
      }),
    );
    assert.equal(again.CertificateArn, arn);
    assert.equal(issuer.issued.filter((i) => i.names.includes("svc.internal.example")).length, 1);
    // A CA that refuses: the certificate is FAILED with ACM's reason, as on AWS.
    const { CertificateArn: failed } = await acm.send(
      new RequestCertificateCommand({ DomainName: "nope.example.com", CertificateAuthorityArn: CA_ARN.replace("11111111", "99999999") }),
    );
    const f = (await acm.send(new DescribeCertificateCommand({ CertificateArn: failed }))).Certificate!;
    assert.equal(f.Status, "FAILED");
    assert.equal(f.FailureReason, "PCA_RESOURCE_NOT_FOUND");
    await rejects(() => acm.send(new GetCertificateCommand({ CertificateArn: failed })), "RequestInProgressException");
  });

  it("exports a private certificate's key as encrypted PKCS#8 that openssl opens; refuses imported ones", async (t) => {
    const { CertificateArn: arn } = await acm.send(
      new RequestCertificateCommand({ DomainName: "export.example.com", CertificateAuthorityArn: CA_ARN }),
    );
    const out = await acm.send(new ExportCertificateCommand({ CertificateArn: arn, Passphrase: utf8("correct horse") }));
    assert.match(out.PrivateKey!, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const cert = new X509Certificate(out.Certificate!);
    // node opens it with the passphrase, and it is the certificate's key.
    const key = (await import("node:crypto")).createPrivateKey({ key: out.PrivateKey!, passphrase: "correct horse" });
    assert.equal(cert.checkPrivateKey(key), true);
    await assert.rejects(async () => (await import("node:crypto")).createPrivateKey({ key: out.PrivateKey!, passphrase: "wrong" }));
    const summary = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!.find((s) => s.CertificateArn === arn)!;
    assert.equal(summary.Exported, true);
    assert.equal(summary.ExportOption, "ENABLED");
    await rejects(() => acm.send(new ExportCertificateCommand({ CertificateArn: arn, Passphrase: utf8("abc") })), "ValidationException");
    const leaf = await makeLeaf(root);
    const { CertificateArn: imported } = await acm.send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) }),
    );
    const e = await rejects(
      () => acm.send(new ExportCertificateCommand({ CertificateArn: imported, Passphrase: utf8("correct horse") })),
      "ValidationException",
    );
    assert.match(e.message, /not a private certificate/);
    // openssl, as an independent judge, decrypts it with the passphrase.
    if (!requireTool(t, "openssl", "openssl")) return;
    const dir = tempDir();
    writeFileSync(join(dir, "key.pem"), out.PrivateKey!);
    writeFileSync(join(dir, "pass"), "correct horse");
    const opened = spawnSync("openssl", ["pkcs8", "-in", join(dir, "key.pem"), "-passin", `file:${join(dir, "pass")}`], {
      encoding: "utf8",
    });
    assert.equal(opened.status, 0, opened.stderr);
    assert.ok(
      createPublicKey(opened.stdout)
        .export({ type: "spki", format: "der" })
        .equals(cert.publicKey.export({ type: "spki", format: "der" })),
    );
    writeFileSync(join(dir, "pass"), "wrong horse");
    assert.notEqual(spawnSync("openssl", ["pkcs8", "-in", join(dir, "key.pem"), "-passin", `file:${join(dir, "pass")}`]).status, 0);
    // And the chain verifies.
    writeFileSync(join(dir, "ca.pem"), out.CertificateChain!);
    writeFileSync(join(dir, "leaf.pem"), out.Certificate!);
    const verified = spawnSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "leaf.pem")], { encoding: "utf8" });
    assert.equal(verified.status, 0, verified.stderr);
  });

  it("authorizes with acm:* actions, and records every call without keys or passphrases", async () => {
    const iam = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    const creds = await makeUser(iam, "acm-reader", {
      read: policy({ Effect: "Allow", Action: ["acm:DescribeCertificate", "acm:ListCertificates"], Resource: "*" }),
    });
    const reader = acmAs(creds);
    const leaf = await makeLeaf(root, { cn: "audited.example.com" });
    const { CertificateArn: arn } = await acmAs().send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) }),
    );
    await reader.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    await rejects(() => reader.send(new GetCertificateCommand({ CertificateArn: arn })), "AccessDeniedException");
    await rejects(() => reader.send(new DeleteCertificateCommand({ CertificateArn: arn })), "AccessDeniedException");
    await rejects(
      () => reader.send(new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) })),
      "AccessDeniedException",
    );
    const { CertificateArn: priv } = await acmAs().send(
      new RequestCertificateCommand({ DomainName: "audit-export.example.com", CertificateAuthorityArn: CA_ARN }),
    );
    await acmAs().send(new ExportCertificateCommand({ CertificateArn: priv, Passphrase: utf8("trail passphrase") }));
    reader.destroy();
    iam.destroy();

    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: ROOT_CREDS,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });
    const events = (
      await trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "acm.amazonaws.com" }],
          MaxResults: 50,
        }),
      )
    ).Events!.map((e) => ({ raw: e.CloudTrailEvent!, record: JSON.parse(e.CloudTrailEvent!) }));
    trail.destroy();
    const imported = events.find((e) => e.record.eventName === "ImportCertificate" && e.record.resources?.[0]?.ARN === arn)!;
    assert.ok(imported, "ImportCertificate is recorded");
    assert.deepEqual(imported.record.resources, [{ accountId: ACCOUNT_ID, type: "AWS::CertificateManager::Certificate", ARN: arn }]);
    assert.ok(events.some((e) => e.record.eventName === "GetCertificate" && e.record.errorCode === "AccessDeniedException"));
    assert.ok(events.some((e) => e.record.eventName === "ExportCertificate" && e.record.resources?.[0]?.ARN === priv));
    const keyBody = leaf.keyPem.split("\n")[1]!;
    for (const e of events) {
      assert.ok(!e.raw.includes(keyBody), "no private key in the trail");
      assert.ok(
        !e.raw.includes("trail passphrase") && !e.raw.includes(Buffer.from("trail passphrase").toString("base64")),
        "no passphrase in the trail",
      );
      assert.ok(!e.raw.includes("ENCRYPTED PRIVATE KEY"), "no exported key in the trail");
    }
    // Nor on disk in the clear: the data directory holds the key only wrapped.
    const needle = Buffer.from(keyBody, "base64").subarray(0, 48);
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
    for (const file of walk(server.dataDir)) {
      const bytes = readFileSync(file);
      assert.ok(!bytes.includes(needle) && !bytes.includes(keyBody), `${file} holds the private key in the clear`);
    }
  });
  it("renews a private certificate on request and by the scheduler 60 days before expiry, keeping its ARN", async () => {
    const { CertificateArn: arn } = await acm.send(
      new RequestCertificateCommand({ DomainName: "renew.example.com", CertificateAuthorityArn: CA_ARN }),
    );
    const serial = async (client = acm) => (await client.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!.Serial;
    const first = await serial();
    await acm.send(new RenewCertificateCommand({ CertificateArn: arn }));
    const second = await serial();
    assert.notEqual(second, first);
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.equal(d.RenewalSummary?.RenewalStatus, "SUCCESS");
    const leaf = await makeLeaf(root);
    const { CertificateArn: imported } = await acm.send(
      new ImportCertificateCommand({ Certificate: utf8(leaf.certPem), PrivateKey: utf8(leaf.keyPem) }),
    );
    await rejects(() => acm.send(new RenewCertificateCommand({ CertificateArn: imported })), "ValidationException");

    // Not yet due: 61 days before expiry nothing is renewed; at 59 days it is.
    const notAfter = d.NotAfter!.getTime();
    clock.set(notAfter - 61 * DAY_MS);
    assert.ok(!(await server.keyhold.acmScheduler.tick()).includes(arn!));
    clock.set(notAfter - 59 * DAY_MS);
    assert.ok((await server.keyhold.acmScheduler.tick()).includes(arn!));
    const later = acmAs();
    const third = await serial(later);
    assert.notEqual(third, second);
    const renewed = (await later.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate!;
    assert.ok(renewed.NotAfter!.getTime() > notAfter);
    assert.equal(renewed.CertificateArn, arn);
    later.destroy();
  });
});
