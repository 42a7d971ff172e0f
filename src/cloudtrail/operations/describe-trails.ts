import type {
  DescribeTrailsRequest,
  DescribeTrailsResponse,
  GetTrailRequest,
  GetTrailResponse,
  ListTrailsRequest,
  ListTrailsResponse,
} from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { bool, list, str, struct } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";
import { trailView, type TrailBody } from "../service.js";

export const describeTrails = defineCloudTrailOperation<DescribeTrailsRequest, DescribeTrailsResponse>({
  name: "DescribeTrails",
  description: "Describe the account's trails in this region (and, as shadow trails, its multi-region trails).",
  readOnly: true,
  input: struct({ trailNameList: list(str({ min: 1, max: 2048 }), { max: 50 }), includeShadowTrails: bool() }),
  async run(ct, call, input) {
    const shadows = input.includeShadowTrails ?? true;
    let trails: TrailBody[];
    if (input.trailNameList && input.trailNameList.length > 0) {
      trails = [];
      for (const name of input.trailNameList) {
        try {
          trails.push((await ct.find(call, name)).body);
        } catch (error) {
          // DescribeTrails lists the named trails that exist; a name that matches none is no error.
          if (!(error instanceof ServiceError && error.code === "TrailNotFoundException")) throw error;
        }
      }
    } else {
      trails = await ct.list(call.accountId, call.region);
    }
    return { trailList: trails.filter((t) => shadows || t.homeRegion === call.region).map(trailView) };
  },
});

export const getTrail = defineCloudTrailOperation<GetTrailRequest, GetTrailResponse>({
  name: "GetTrail",
  description: "Describe one trail.",
  readOnly: true,
  input: struct({ Name: str({ min: 1, max: 2048 }) }, ["Name"]),
  async run(ct, call, input) {
    return { Trail: trailView((await ct.find(call, input.Name!)).body) };
  },
});

export const listTrails = defineCloudTrailOperation<ListTrailsRequest, ListTrailsResponse>({
  name: "ListTrails",
  description: "List the account's trails in every region.",
  readOnly: true,
  input: struct({ NextToken: str({ min: 1, max: 4096 }) }),
  async run(ct, call, input) {
    // Five trails per region fit one page: there is never a NextToken to come back with.
    if (input.NextToken !== undefined)
      throw new ServiceError("InvalidTokenException", "The NextToken is not valid: ListTrails returned none.");
    const trails = await ct.list(call.accountId);
    return { Trails: trails.map((t) => ({ TrailARN: t.arn, Name: t.name, HomeRegion: t.homeRegion })) };
  },
});
