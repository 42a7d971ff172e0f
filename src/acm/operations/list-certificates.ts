import type { ListCertificatesRequest, ListCertificatesResponse } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { enumOf, int, list, str, struct } from "../../validation/schema.js";
import { certificateSummary, currentStatus } from "../describe.js";
import { defineOperation } from "../operation.js";
import type { CertificateBody } from "../service.js";
import { CERTIFICATE_STATUSES, EXTENDED_KEY_USAGE_NAMES, KEY_ALGORITHM_NAMES, KEY_USAGE_NAMES } from "../shapes.js";

/** Without Includes.keyTypes ACM lists RSA_1024 and RSA_2048 certificates only. */
const DEFAULT_KEY_TYPES: readonly string[] = ["RSA_1024", "RSA_2048"];
const TOKEN = /^c(\d{1,9})$/;

export const listCertificates = defineOperation<ListCertificatesRequest, ListCertificatesResponse>({
  name: "ListCertificates",
  description: "List certificates, by status, key type, key usage and extended key usage, a page at a time.",
  readOnly: true,
  input: struct({
    CertificateStatuses: list(enumOf(CERTIFICATE_STATUSES)),
    Includes: struct({
      extendedKeyUsage: list(enumOf(EXTENDED_KEY_USAGE_NAMES)),
      keyUsage: list(enumOf(KEY_USAGE_NAMES)),
      keyTypes: list(enumOf(KEY_ALGORITHM_NAMES)),
      exportOption: enumOf(["ENABLED", "DISABLED"]),
      managedBy: enumOf(["CLOUDFRONT"]),
    }),
    NextToken: str({ min: 1, max: 10000 }),
    MaxItems: int({ min: 1, max: 1000 }),
    SortBy: enumOf(["CREATED_AT"]),
    SortOrder: enumOf(["ASCENDING", "DESCENDING"]),
  }),
  async run(acm, call, input) {
    await acm.authorizer.require(call, { action: "acm:ListCertificates", resource: "*" });
    const now = acm.clock.now();
    const statuses = input.CertificateStatuses?.length ? new Set<string>(input.CertificateStatuses) : undefined;
    const inc = input.Includes ?? {};
    const keyTypes = new Set<string>(inc.keyTypes?.length ? inc.keyTypes : DEFAULT_KEY_TYPES);
    const matches = (b: CertificateBody): boolean => {
      if (statuses && !statuses.has(currentStatus(b, now))) return false;
      if (!keyTypes.has(b.keyAlgorithm)) return false;
      if (inc.managedBy !== undefined) return false;
      if (inc.exportOption !== undefined && inc.exportOption !== (b.type === "PRIVATE" ? "ENABLED" : "DISABLED")) return false;
      if (inc.keyUsage?.length) {
        const have = b.facts?.keyUsages ?? [];
        if (!inc.keyUsage.some((u) => u === "ANY" || have.includes(u))) return false;
      }
      if (inc.extendedKeyUsage?.length) {
        const have = (b.facts?.extendedKeyUsages ?? []).map((e) => e.Name);
        if (!inc.extendedKeyUsage.some((u) => (u === "NONE" ? have.length === 0 : u === "ANY" ? have.length > 0 : have.includes(u))))
          return false;
      }
      return true;
    };
    const all = (await acm.all(call.accountId, call.region)).map((c) => c.body).filter(matches);
    // Oldest first unless DESCENDING; the ARN breaks ties so pages never overlap.
    const dir = input.SortOrder === "DESCENDING" ? -1 : 1;
    all.sort((a, b) => dir * (a.createdAt - b.createdAt || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0)));
    let start = 0;
    if (input.NextToken !== undefined) {
      const m = TOKEN.exec(Buffer.from(input.NextToken, "base64url").toString("latin1"));
      if (!m || Number(m[1]) > all.length) throw new ServiceError("InvalidArgsException", "The NextToken is not valid.");
      start = Number(m[1]);
    }
    const end = start + (input.MaxItems ?? 1000);
    return {
      CertificateSummaryList: all.slice(start, end).map((b) => certificateSummary(b, now, acm.inUseBy(b.arn).length > 0)),
      NextToken: end < all.length ? Buffer.from(`c${end}`, "latin1").toString("base64url") : undefined,
    };
  },
});
