import type { ListCertificateAuthoritiesRequest, ListCertificateAuthoritiesResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { describeAuthority } from "../describe.js";
import { defineOperation } from "../operation.js";
import { MaxResults, NextToken } from "../shapes.js";

export const listCertificateAuthorities = defineOperation<ListCertificateAuthoritiesRequest, ListCertificateAuthoritiesResponse>({
  name: "ListCertificateAuthorities",
  description:
    "List the private CAs of the caller's account in this region (ResourceOwner OTHER_ACCOUNTS: none are shared through RAM here).",
  readOnly: true,
  input: struct({ MaxResults, NextToken, ResourceOwner: enumOf(["SELF", "OTHER_ACCOUNTS"]) }),
  async run(pca, call, input) {
    await pca.authorize(call, "acm-pca:ListCertificateAuthorities", undefined);
    if (input.ResourceOwner === "OTHER_ACCOUNTS") return { CertificateAuthorities: [] };
    let after: string | undefined;
    if (input.NextToken !== undefined) {
      after = Buffer.from(input.NextToken, "base64url").toString("utf8");
      if (!/^[0-9a-f-]{36}$/.test(after)) throw new ServiceError("InvalidNextTokenException", "The NextToken is not valid.");
    }
    const limit = input.MaxResults ?? 100;
    const out = [];
    let next: string | undefined;
    // Other regions' CAs are skipped: a page is filled from this region's only.
    for (;;) {
      const page = await pca.list(call.accountId, after, limit - out.length);
      for (const ca of page.items) if (ca.body.region === call.region) out.push(describeAuthority(pca, ca));
      after = page.next;
      if (!after) break;
      if (out.length >= limit) {
        next = after;
        break;
      }
    }
    return { CertificateAuthorities: out, NextToken: next === undefined ? undefined : Buffer.from(next, "utf8").toString("base64url") };
  },
});
