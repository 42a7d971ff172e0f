import { createHash } from "node:crypto";
import type { SearchCertificatesRequest, SearchCertificatesResponse, CertificateSearchResult } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { bool, enumOf, int, list, str, struct, timestamp, type Schema } from "../../validation/schema.js";
import { currentStatus } from "../describe.js";
import { defineOperation } from "../operation.js";
import type { CertificateBody } from "../service.js";
import { CertificateArn, CERTIFICATE_STATUSES, EXTENDED_KEY_USAGE_NAMES, KEY_ALGORITHM_NAMES, KEY_USAGE_NAMES } from "../shapes.js";

/** How deep And/Or/Not may nest, and how many statements one search may hold in all: each is tested against every certificate. */
const MAX_DEPTH = 5;
const MAX_STATEMENTS = 100;
const SORT_KEYS = [
  "CREATED_AT",
  "NOT_AFTER",
  "STATUS",
  "RENEWAL_STATUS",
  "EXPORTED",
  "IN_USE",
  "NOT_BEFORE",
  "KEY_ALGORITHM",
  "TYPE",
  "CERTIFICATE_ARN",
  "COMMON_NAME",
  "REVOKED_AT",
  "RENEWAL_ELIGIBILITY",
  "ISSUED_AT",
  "MANAGED_BY",
  "EXPORT_OPTION",
  "VALIDATION_METHOD",
  "IMPORTED_AT",
] as const;

const textFilter = struct({ Value: str({ min: 1, max: 256 }), ComparisonOperator: enumOf(["CONTAINS", "EQUALS"]) }, [
  "Value",
  "ComparisonOperator",
]);
const range = struct({ Start: timestamp(), End: timestamp() });
const Filter = struct({
  CertificateArn,
  X509AttributeFilter: struct({
    Subject: struct({ CommonName: textFilter }),
    SubjectAlternativeName: struct({ DnsName: textFilter }),
    ExtendedKeyUsage: enumOf(EXTENDED_KEY_USAGE_NAMES),
    KeyUsage: enumOf(KEY_USAGE_NAMES),
    KeyAlgorithm: enumOf(KEY_ALGORITHM_NAMES),
    SerialNumber: str({ min: 2, max: 59, pattern: /^[0-9a-f]{2}(:[0-9a-f]{2}){1,19}$/ }),
    NotAfter: range,
    NotBefore: range,
  }),
  AcmCertificateMetadataFilter: struct({
    Status: enumOf(CERTIFICATE_STATUSES),
    RenewalStatus: enumOf(["PENDING_AUTO_RENEWAL", "PENDING_VALIDATION", "SUCCESS", "FAILED"]),
    Type: enumOf(["IMPORTED", "AMAZON_ISSUED", "PRIVATE"]),
    InUse: bool(),
    Exported: bool(),
    ExportOption: enumOf(["ENABLED", "DISABLED"]),
    ManagedBy: enumOf(["CLOUDFRONT"]),
    ValidationMethod: enumOf(["EMAIL", "DNS", "HTTP"]),
  }),
});
function statement(depth: number): Schema {
  if (depth === 0) return struct({ Filter });
  const inner = statement(depth - 1);
  return struct({ And: list(inner, { min: 1, max: 15 }), Or: list(inner, { min: 1, max: 15 }), Not: inner, Filter });
}

type Text = { Value?: string; ComparisonOperator?: string };
type Range = { Start?: Date; End?: Date };
interface FilterInput {
  CertificateArn?: string;
  X509AttributeFilter?: Record<string, unknown>;
  AcmCertificateMetadataFilter?: Record<string, unknown>;
}
interface Statement {
  And?: Statement[];
  Or?: Statement[];
  Not?: Statement;
  Filter?: FilterInput;
}

/** A union (the model's): exactly one member set. */
function one(value: object | undefined, what: string): [string, unknown] {
  const set = Object.entries(value ?? {}).filter(([, v]) => v !== undefined && v !== null);
  if (set.length !== 1) throw new ServiceError("ValidationException", `${what} must set exactly one of its members.`);
  return set[0]!;
}

/** What a certificate is searched by, computed once per certificate. */
interface Facts {
  body: CertificateBody;
  status: string;
  inUse: boolean;
  commonName?: string;
  country?: string;
  issuerCommonName?: string;
  issuerCountry?: string;
}

function field(dn: string | undefined, name: string): string | undefined {
  if (!dn) return undefined;
  const m = new RegExp(`(?:^|,\\s*)${name}=((?:\\\\,|[^,])*)`).exec(dn);
  return m?.[1]?.trim();
}

function textMatches(value: string | undefined, f: Text): boolean {
  if (value === undefined) return false;
  return f.ComparisonOperator === "EQUALS" ? value === f.Value : value.includes(f.Value!);
}

function inRange(value: number | undefined, r: Range): boolean {
  if (value === undefined) return false;
  return (r.Start === undefined || value >= r.Start.getTime()) && (r.End === undefined || value <= r.End.getTime());
}

function usage(have: string[], wanted: string): boolean {
  if (wanted === "ANY") return have.length > 0;
  if (wanted === "NONE") return have.length === 0;
  return have.includes(wanted);
}

function filterMatches(f: FilterInput, c: Facts): boolean {
  const [kind, value] = one(f, "A CertificateFilter");
  const b = c.body;
  if (kind === "CertificateArn") return b.arn === value;
  if (kind === "X509AttributeFilter") {
    const [name, v] = one(value as object, "An X509AttributeFilter");
    switch (name) {
      case "Subject":
        return textMatches(c.commonName, one(v as object, "A SubjectFilter")[1] as Text);
      case "SubjectAlternativeName": {
        const t = one(v as object, "A SubjectAlternativeNameFilter")[1] as Text;
        return (b.facts?.subjectAlternativeNames ?? []).some((n) => textMatches(n, t));
      }
      case "ExtendedKeyUsage":
        return usage(
          (b.facts?.extendedKeyUsages ?? []).map((e) => e.Name),
          v as string,
        );
      case "KeyUsage":
        return usage(b.facts?.keyUsages ?? [], v as string);
      case "KeyAlgorithm":
        return b.keyAlgorithm === v;
      case "SerialNumber":
        return b.facts?.serial === v;
      case "NotAfter":
        return inRange(b.facts?.notAfter, v as Range);
      default:
        return inRange(b.facts?.notBefore, v as Range);
    }
  }
  const [name, v] = one(value as object, "An AcmCertificateMetadataFilter");
  switch (name) {
    case "Status":
      return c.status === v;
    case "RenewalStatus":
      return b.renewal?.status === v;
    case "Type":
      return b.type === v;
    case "InUse":
      return c.inUse === v;
    case "Exported":
      return (b.exported === true) === v;
    case "ExportOption":
      return (b.type === "PRIVATE" ? "ENABLED" : "DISABLED") === v;
    default:
      // keyhold has no CloudFront and validates no domains: no certificate is managed by one or validated by a method.
      return false;
  }
}

function matches(s: Statement, c: Facts): boolean {
  const [kind, value] = one(s, "A CertificateFilterStatement");
  if (kind === "And") return (value as Statement[]).every((x) => matches(x, c));
  if (kind === "Or") return (value as Statement[]).some((x) => matches(x, c));
  if (kind === "Not") return !matches(value as Statement, c);
  return filterMatches(value as FilterInput, c);
}

/** Checks the statement's shape (unions, size) once, before any certificate is read. */
function check(s: Statement, count = { n: 0 }): void {
  if (++count.n > MAX_STATEMENTS)
    throw new ServiceError("ValidationException", `A FilterStatement holds at most ${MAX_STATEMENTS} statements and filters.`);
  const [kind, value] = one(s, "A CertificateFilterStatement");
  if (kind === "And" || kind === "Or") for (const x of value as Statement[]) check(x, count);
  else if (kind === "Not") check(value as Statement, count);
  else {
    const f = value as FilterInput;
    const [k, v] = one(f, "A CertificateFilter");
    if (k === "X509AttributeFilter") {
      const [n, inner] = one(v as object, "An X509AttributeFilter");
      if (n === "Subject" || n === "SubjectAlternativeName") one(inner as object, `A ${n} filter`);
    } else if (k === "AcmCertificateMetadataFilter") one(v as object, "An AcmCertificateMetadataFilter");
  }
}

function sortKey(c: Facts, by: string): string | number | undefined {
  const b = c.body;
  switch (by) {
    case "NOT_AFTER":
      return b.facts?.notAfter;
    case "NOT_BEFORE":
      return b.facts?.notBefore;
    case "STATUS":
      return c.status;
    case "RENEWAL_STATUS":
      return b.renewal?.status;
    case "EXPORTED":
      return b.exported ? 1 : 0;
    case "IN_USE":
      return c.inUse ? 1 : 0;
    case "KEY_ALGORITHM":
      return b.keyAlgorithm;
    case "TYPE":
      return b.type;
    case "CERTIFICATE_ARN":
      return b.arn;
    case "COMMON_NAME":
      return c.commonName;
    case "REVOKED_AT":
      return b.revokedAt;
    case "RENEWAL_ELIGIBILITY":
      return b.type === "PRIVATE" && b.status === "ISSUED" ? "ELIGIBLE" : "INELIGIBLE";
    case "ISSUED_AT":
      return b.issuedAt;
    case "EXPORT_OPTION":
      return b.type === "PRIVATE" ? "ENABLED" : "DISABLED";
    case "IMPORTED_AT":
      return b.importedAt;
    case "MANAGED_BY":
    case "VALIDATION_METHOD":
      return undefined;
    default:
      return b.createdAt;
  }
}

function compare(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

function result(c: Facts): CertificateSearchResult {
  const b = c.body;
  const f = b.facts;
  return {
    CertificateArn: b.arn,
    X509Attributes: f && {
      Issuer: { CommonName: c.issuerCommonName, Country: c.issuerCountry },
      Subject: { CommonName: c.commonName, Country: c.country },
      SubjectAlternativeNames: f.subjectAlternativeNames.map((DnsName) => ({ DnsName })),
      ExtendedKeyUsages: f.extendedKeyUsages.map((e) => e.Name) as never,
      KeyAlgorithm: b.keyAlgorithm,
      KeyUsages: f.keyUsages as never,
      SerialNumber: f.serial,
      NotAfter: date(f.notAfter),
      NotBefore: date(f.notBefore),
    },
    CertificateMetadata: {
      AcmCertificateMetadata: {
        CreatedAt: date(b.createdAt),
        Exported: b.exported === true,
        ImportedAt: date(b.importedAt),
        InUse: c.inUse,
        IssuedAt: date(b.issuedAt),
        RenewalEligibility: b.type === "PRIVATE" && b.status === "ISSUED" ? "ELIGIBLE" : "INELIGIBLE",
        RevokedAt: date(b.revokedAt),
        Status: c.status as never,
        RenewalStatus: b.renewal?.status,
        Type: b.type,
        ExportOption: b.type === "PRIVATE" ? "ENABLED" : "DISABLED",
      },
    },
  };
}

export const searchCertificates = defineOperation<SearchCertificatesRequest, SearchCertificatesResponse>({
  name: "SearchCertificates",
  description: "Search certificates with a filter statement (And/Or/Not over X.509 attributes and ACM metadata), sorted, a page at a time.",
  readOnly: true,
  input: struct({
    FilterStatement: statement(MAX_DEPTH),
    MaxResults: int({ min: 1, max: 500 }),
    NextToken: str({ min: 1, max: 10000 }),
    SortBy: enumOf(SORT_KEYS),
    SortOrder: enumOf(["ASCENDING", "DESCENDING"]),
  }),
  async run(acm, call, input) {
    const statement = input.FilterStatement as Statement | undefined;
    if (statement) check(statement);
    // A token belongs to one search: the same filter and order.
    const query = createHash("sha256")
      .update(JSON.stringify([input.FilterStatement ?? null, input.SortBy ?? null, input.SortOrder ?? null]))
      .digest("base64url")
      .slice(0, 16);
    let start = 0;
    if (input.NextToken !== undefined) {
      const m = /^s(\d{1,9})\.([\w-]{16})$/.exec(Buffer.from(input.NextToken, "base64url").toString("latin1"));
      if (!m || m[2] !== query) throw new ServiceError("ValidationException", "The NextToken is not one this search gave.");
      start = Number(m[1]);
    }
    await acm.authorizer.require(call, { action: "acm:SearchCertificates", resource: "*" });
    const now = acm.clock.now();
    const found: Facts[] = [];
    for (const { body } of await acm.all(call.accountId, call.region)) {
      const c: Facts = {
        body,
        status: currentStatus(body, now),
        inUse: acm.inUseBy(body.arn).length > 0,
        commonName: field(body.facts?.subject, "CN"),
        country: field(body.facts?.subject, "C"),
        issuerCommonName: field(body.facts?.issuer, "CN"),
        issuerCountry: field(body.facts?.issuer, "C"),
      };
      if (!statement || matches(statement, c)) found.push(c);
    }
    const by = input.SortBy ?? "CREATED_AT";
    const dir = input.SortOrder === "DESCENDING" ? -1 : 1;
    found.sort((a, b) => dir * compare(sortKey(a, by), sortKey(b, by)) || compare(a.body.arn, b.body.arn));
    const end = start + (input.MaxResults ?? 100);
    return {
      Results: found.slice(start, end).map(result),
      NextToken: end < found.length ? Buffer.from(`s${end}.${query}`, "latin1").toString("base64url") : undefined,
    };
  },
});
