import { createPublicKey } from "node:crypto";
import type { ListPublicKeysRequest, ListPublicKeysResponse } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { str, struct, timestamp } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";

export const listPublicKeys = defineCloudTrailOperation<ListPublicKeysRequest, ListPublicKeysResponse>({
  name: "ListPublicKeys",
  description: "The public keys digest files are signed with, valid in a time range (default: the last day).",
  readOnly: true,
  input: struct({ StartTime: timestamp(), EndTime: timestamp(), NextToken: str({ min: 1, max: 4096 }) }),
  async run(ct, _call, input) {
    if (input.NextToken !== undefined)
      throw new ServiceError("InvalidTokenException", "The NextToken is not valid: ListPublicKeys returned none.");
    const now = ct.clock.now();
    const end = input.EndTime?.getTime() ?? now;
    const start = input.StartTime?.getTime() ?? end - 86_400_000;
    if (start > end) throw new ServiceError("InvalidTimeRangeException");
    const key = await ct.signingKey();
    // keyhold's one signing key is valid from its creation until now: it signs every digest delivered so far.
    const validFrom = key.createdAt ?? 0;
    if (validFrom > end || now < start) return { PublicKeyList: [] };
    const der = createPublicKey(key.publicKeyPem).export({ type: "pkcs1", format: "der" });
    return {
      PublicKeyList: [
        {
          // PKCS#1 RSAPublicKey DER, base64 on the wire: what `validate-logs` decodes (the CLI keeps blobs as the wire's text).
          Value: der,
          ValidityStartTime: new Date(validFrom),
          ValidityEndTime: new Date(now),
          Fingerprint: key.fingerprint,
        },
      ],
    };
  },
});
