/**
 * ACM RevokeCertificate (a private certificate is revoked at the keyhold CA that issued it, so its
 * OCSP status says revoked) and SearchCertificates (filters combined with And/Or/Not, sort, pages),
 * through @aws-sdk/client-acm, with their refusals.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ACMClient,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  RequestCertificateCommand,
  RevokeCertificateCommand,
  SearchCertificatesCommand,
  UpdateCertificateOptionsCommand,
  type CertificateFilterStatement,
} from "@aws-sdk/client-acm";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { rejects, startTestServer, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { makeCa, makeLeaf } from "./acm-pki.js";
import { activateCa, caInput } from "./pca-fixture.js";

const options = (url: string) => ({ endpoint: url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });

describe("ACM RevokeCertificate and SearchCertificates", () => {
  let server: TestServer;
  let acm: ACMClient;
  let pca: ACMPCAClient;
  let caArn: string;
  let a: string; // EC, a.example.test
  let b: string; // RSA, b.example.test + www.b.example.test
  let imported: string;

  before(async () => {
    server = await startTestServer();
    acm = new ACMClient(options(server.url));
    pca = new ACMPCAClient(options(server.url));
    ({ arn: caArn } = await activateCa(
      pca,
      caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "revoke search root", {
        RevocationConfiguration: { OcspConfiguration: { Enabled: true } },
      }),
    ));
    a = (
      await acm.send(
        new RequestCertificateCommand({ DomainName: "a.example.test", CertificateAuthorityArn: caArn, KeyAlgorithm: "EC_prime256v1" }),
      )
    ).CertificateArn!;
    b = (
      await acm.send(
        new RequestCertificateCommand({
          DomainName: "b.example.test",
          SubjectAlternativeNames: ["www.b.example.test"],
          CertificateAuthorityArn: caArn,
        }),
      )
    ).CertificateArn!;
    const other = await makeCa("someone else's CA");
    const leaf = await makeLeaf(other, { cn: "imported.example.org" });
    imported = (
      await acm.send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(leaf.certPem),
          PrivateKey: Buffer.from(leaf.keyPem),
          CertificateChain: Buffer.from(other.pem),
        }),
      )
    ).CertificateArn!;
  });
  after(async () => {
    acm.destroy();
    pca.destroy();
    await server.stop();
  });

  it("revokes a private certificate at its CA (OCSP: revoked, with the reason); refuses twice, hold, imported, unknown", async () => {
    const serial = (await acm.send(new DescribeCertificateCommand({ CertificateArn: b }))).Certificate!.Serial!;
    const caId = caArn.split("/").pop()!;
    assert.deepEqual(await server.keyhold.acmPcaIssuer.status(caId, serial), { status: "good" });
    await rejects(
      () => acm.send(new RevokeCertificateCommand({ CertificateArn: b, RevocationReason: "CERTIFICATE_HOLD" })),
      "ValidationException",
    );
    await rejects(
      () => acm.send(new RevokeCertificateCommand({ CertificateArn: b, RevocationReason: "NOT_A_REASON" as never })),
      "ValidationException",
    );
    assert.deepEqual(await server.keyhold.acmPcaIssuer.status(caId, serial), { status: "good" }, "a refused revocation changes nothing");

    const out = await acm.send(new RevokeCertificateCommand({ CertificateArn: b, RevocationReason: "SUPERCEDED" }));
    assert.equal(out.CertificateArn, b);
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: b }))).Certificate!;
    assert.equal(d.Status, "REVOKED");
    assert.equal(d.RevocationReason, "SUPERCEDED");
    assert.ok(d.RevokedAt instanceof Date);
    const status = await server.keyhold.acmPcaIssuer.status(caId, serial);
    assert.equal(status.status, "revoked");
    assert.equal((status as { reason: string }).reason, "SUPERSEDED");

    await rejects(
      () => acm.send(new RevokeCertificateCommand({ CertificateArn: b, RevocationReason: "KEY_COMPROMISE" })),
      "ConflictException",
    );
    await rejects(
      () => acm.send(new RevokeCertificateCommand({ CertificateArn: imported, RevocationReason: "KEY_COMPROMISE" })),
      "ValidationException",
    );
    await rejects(
      () =>
        acm.send(
          new RevokeCertificateCommand({ CertificateArn: a.replace(/[0-9a-f]{12}$/, "000000000000"), RevocationReason: "UNSPECIFIED" }),
        ),
      "ResourceNotFoundException",
    );
    await rejects(
      () =>
        acm.send(
          new RevokeCertificateCommand({
            CertificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/nope",
            RevocationReason: "UNSPECIFIED",
          }),
        ),
      "InvalidArnException",
    );
    // Audited as every call.
    const trail = new CloudTrailClient(options(server.url));
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "RevokeCertificate" }] }))
    ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as { eventSource: string; errorCode?: string; resources?: { ARN: string }[] });
    trail.destroy();
    assert.ok(events.some((e) => e.eventSource === "acm.amazonaws.com" && !e.errorCode && e.resources?.[0]?.ARN === b));
    assert.ok(events.some((e) => e.eventSource === "acm.amazonaws.com" && e.errorCode === "ConflictException"));
  });

  it("searches with filters, And/Or/Not, sorts and pages; refuses a token of another search and a filter that sets two members", async () => {
    const search = async (FilterStatement?: CertificateFilterStatement, extra: Record<string, unknown> = {}) =>
      (await acm.send(new SearchCertificatesCommand({ FilterStatement, ...extra }))).Results!.map((r) => r.CertificateArn!);
    const same = (x: string[], y: string[]) => assert.deepEqual([...x].sort(), [...y].sort());

    same(await search(), [a, b, imported]);
    same(await search({ Filter: { CertificateArn: a } }), [a]);
    same(
      await search({
        Filter: { X509AttributeFilter: { Subject: { CommonName: { Value: "a.example.test", ComparisonOperator: "EQUALS" } } } },
      }),
      [a],
    );
    same(
      await search({
        Filter: { X509AttributeFilter: { SubjectAlternativeName: { DnsName: { Value: "www.b", ComparisonOperator: "CONTAINS" } } } },
      }),
      [b],
    );
    same(await search({ Filter: { X509AttributeFilter: { KeyAlgorithm: "EC_prime256v1" } } }), [a]);
    same(await search({ Filter: { AcmCertificateMetadataFilter: { Status: "REVOKED" } } }), [b]);
    same(await search({ Not: { Filter: { AcmCertificateMetadataFilter: { Type: "PRIVATE" } } } }), [imported]);
    same(
      await search({
        And: [
          { Filter: { AcmCertificateMetadataFilter: { Type: "PRIVATE" } } },
          { Not: { Filter: { AcmCertificateMetadataFilter: { Status: "REVOKED" } } } },
        ],
      }),
      [a],
    );
    same(
      await search({
        Or: [
          { Filter: { X509AttributeFilter: { Subject: { CommonName: { Value: "imported", ComparisonOperator: "CONTAINS" } } } } },
          { Filter: { X509AttributeFilter: { KeyAlgorithm: "EC_prime256v1" } } },
        ],
      }),
      [a, imported],
    );
    const serialA = (await acm.send(new DescribeCertificateCommand({ CertificateArn: a }))).Certificate!.Serial!;
    same(await search({ Filter: { X509AttributeFilter: { SerialNumber: serialA } } }), [a]);
    same(await search({ Filter: { X509AttributeFilter: { NotAfter: { Start: new Date(Date.now() + 300 * 86_400_000) } } } }), [a, b]);
    same(await search({ Filter: { X509AttributeFilter: { ExtendedKeyUsage: "TLS_WEB_SERVER_AUTHENTICATION" } } }), [a, b, imported]);
    same(await search({ Filter: { X509AttributeFilter: { ExtendedKeyUsage: "CODE_SIGNING" } } }), []);

    // Sorted, a page at a time.
    const byArn = [a, b, imported].sort().reverse();
    assert.deepEqual(await search(undefined, { SortBy: "CERTIFICATE_ARN", SortOrder: "DESCENDING" }), byArn);
    const pages: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await acm.send(
        new SearchCertificatesCommand({ MaxResults: 1, SortBy: "CERTIFICATE_ARN", SortOrder: "DESCENDING", NextToken }),
      );
      assert.ok(page.Results!.length <= 1);
      pages.push(...page.Results!.map((r) => r.CertificateArn!));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.deepEqual(pages, byArn);

    const first = await acm.send(new SearchCertificatesCommand({ MaxResults: 1 }));
    await rejects(
      () => acm.send(new SearchCertificatesCommand({ MaxResults: 1, NextToken: first.NextToken, SortBy: "NOT_AFTER" })),
      "ValidationException",
    );
    await rejects(() => acm.send(new SearchCertificatesCommand({ NextToken: "bm90LWEtdG9rZW4" })), "ValidationException");
    await rejects(() => acm.send(new SearchCertificatesCommand({ MaxResults: 501 })), "ValidationException");
    await rejects(
      () =>
        acm.send(
          new SearchCertificatesCommand({
            FilterStatement: { Filter: { CertificateArn: a }, Not: { Filter: { CertificateArn: b } } } as never,
          }),
        ),
      "ValidationException",
    );
    const many = Array.from({ length: 15 }, () => ({ Or: Array.from({ length: 15 }, () => ({ Filter: { CertificateArn: a } })) }));
    await rejects(() => acm.send(new SearchCertificatesCommand({ FilterStatement: { And: many } })), "ValidationException");

    // The result carries the X.509 attributes and ACM's metadata.
    const r = (await acm.send(new SearchCertificatesCommand({ FilterStatement: { Filter: { CertificateArn: b } } }))).Results![0]!;
    assert.equal(r.X509Attributes!.Subject!.CommonName, "b.example.test");
    assert.equal(r.X509Attributes!.Issuer!.CommonName, "revoke search root");
    assert.deepEqual(
      r.X509Attributes!.SubjectAlternativeNames!.map((n) => n.DnsName),
      ["b.example.test", "www.b.example.test"],
    );
    assert.equal(r.X509Attributes!.KeyAlgorithm, "RSA_2048");
    assert.equal(r.CertificateMetadata!.AcmCertificateMetadata!.Status, "REVOKED");
    assert.ok(r.CertificateMetadata!.AcmCertificateMetadata!.RevokedAt instanceof Date);
    assert.equal(r.CertificateMetadata!.AcmCertificateMetadata!.Type, "PRIVATE");
  });

  it("UpdateCertificateOptions keeps the CT preference; Export cannot change; a revoked certificate's options do not change", async () => {
    await acm.send(
      new UpdateCertificateOptionsCommand({ CertificateArn: a, Options: { CertificateTransparencyLoggingPreference: "DISABLED" } }),
    );
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: a }))).Certificate!;
    assert.equal(d.Options?.CertificateTransparencyLoggingPreference, "DISABLED");
    assert.equal(d.Options?.Export, "ENABLED");
    await rejects(
      () => acm.send(new UpdateCertificateOptionsCommand({ CertificateArn: a, Options: { Export: "DISABLED" } })),
      "InvalidStateException",
    );
    await rejects(
      () =>
        acm.send(
          new UpdateCertificateOptionsCommand({ CertificateArn: b, Options: { CertificateTransparencyLoggingPreference: "ENABLED" } }),
        ),
      "InvalidStateException",
    );
    await rejects(
      () =>
        acm.send(
          new UpdateCertificateOptionsCommand({
            CertificateArn: a.replace(/[0-9a-f]{12}$/, "000000000000"),
            Options: { CertificateTransparencyLoggingPreference: "ENABLED" },
          }),
        ),
      "ResourceNotFoundException",
    );
    assert.equal(
      (await acm.send(new DescribeCertificateCommand({ CertificateArn: a }))).Certificate!.Options
        ?.CertificateTransparencyLoggingPreference,
      "DISABLED",
    );
  });
});
