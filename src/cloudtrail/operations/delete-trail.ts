import type { DeleteTrailRequest, DeleteTrailResponse } from "@aws-sdk/client-cloudtrail";
import { str, struct } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";
import { TRAIL_KIND } from "../service.js";

export const deleteTrail = defineCloudTrailOperation<DeleteTrailRequest, DeleteTrailResponse>({
  name: "DeleteTrail",
  description: "Delete a trail; the files it delivered stay in their bucket.",
  readOnly: false,
  input: struct({ Name: str({ min: 1, max: 2048 }) }, ["Name"]),
  async run(ct, call, input) {
    const { doc, body } = await ct.findForChange(call, input.Name!);
    await ct.repo.deleteDocument(TRAIL_KIND, doc.accountId, doc.name, doc.revision);
    call.trail.resources.push({ arn: body.arn, type: "AWS::CloudTrail::Trail" });
    return {};
  },
});
