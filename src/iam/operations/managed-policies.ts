/**
 * Customer managed policies and their attachments: CreatePolicy, GetPolicy, GetPolicyVersion,
 * ListPolicyVersions, ListPolicies, DeletePolicy, Attach/Detach{User,Group,Role}Policy,
 * ListAttached{User,Group,Role}Policies. A policy has one version, v1, its default.
 */
import type {
  CreatePolicyRequest,
  CreatePolicyResponse,
  DeletePolicyRequest,
  GetPolicyRequest,
  GetPolicyResponse,
  GetPolicyVersionRequest,
  GetPolicyVersionResponse,
  ListPoliciesRequest,
  ListPoliciesResponse,
  ListPolicyVersionsRequest,
  ListPolicyVersionsResponse,
} from "@aws-sdk/client-iam";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { bool, enumOf, str, struct } from "../../validation/schema.js";
import { ContextValues } from "../conditions.js";
import { checkPolicyDocument, iamArn, policySize, uniqueId } from "../directory.js";
import {
  Arn,
  defineIamOperation,
  encodeDocument,
  Marker,
  MaxItems,
  pageOf,
  Path,
  PathPrefix,
  PolicyDocument,
  PolicyName,
  policyShape,
  QUOTAS,
  refuseUnkept,
  Tags,
  type IamOperation,
  type IamService,
} from "../service.js";
import { POLICY_HOLDERS } from "./inline-policies.js";

/** How many users, groups and roles have the policy attached. */
async function attachmentCount(iam: IamService, accountId: string, arn: string): Promise<number> {
  let count = 0;
  for (const kind of ["iam-user", "iam-group", "iam-role"] as const) {
    for (const e of await iam.directory.list(kind, accountId)) if (e.body.attached.includes(arn)) count++;
  }
  return count;
}

async function requirePolicy(iam: IamService, call: CallContext, arn: string) {
  const policy = await iam.directory.managedPolicy(call.accountId, arn);
  if (!policy) throw new ServiceError("NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
  return policy;
}

export const createPolicy = defineIamOperation<CreatePolicyRequest, CreatePolicyResponse>({
  name: "CreatePolicy",
  description: "Create a customer managed policy, attachable to users, groups and roles.",
  readOnly: false,
  input: struct({ PolicyName, Path, PolicyDocument, Description: str({ max: 1000 }), Tags }, ["PolicyName", "PolicyDocument"]),
  async run(iam, call, input) {
    refuseUnkept(input, "policy");
    const path = input.Path ?? "/";
    const arn = iamArn(call.accountId, "policy", path, input.PolicyName!);
    await iam.authorize(call, arn);
    // The quota first: a 128 KB document is refused before it is compiled (and cached).
    if (policySize(input.PolicyDocument!) > 6144) {
      throw new ServiceError("LimitExceeded", "Cannot exceed quota for PolicySize: 6144");
    }
    checkPolicyDocument(input.PolicyDocument!, "identity");
    const now = iam.clock.now();
    const body = {
      policyId: uniqueId("ANPA"),
      path,
      arn,
      createDate: now,
      updateDate: now,
      document: input.PolicyDocument!,
      description: input.Description,
    };
    if (!(await iam.directory.create("iam-policy", call.accountId, input.PolicyName!, body, now))) {
      throw new ServiceError("EntityAlreadyExists", `A policy called ${input.PolicyName} already exists. Duplicate names are not allowed.`);
    }
    return { Policy: policyShape(input.PolicyName!, body, 0) };
  },
});

export const getPolicy = defineIamOperation<GetPolicyRequest, GetPolicyResponse>({
  name: "GetPolicy",
  description: "Describe a customer managed policy.",
  readOnly: true,
  input: struct({ PolicyArn: Arn }, ["PolicyArn"]),
  async run(iam, call, input) {
    await iam.authorize(call, input.PolicyArn!);
    const policy = await requirePolicy(iam, call, input.PolicyArn!);
    return { Policy: policyShape(policy.name, policy.body, await attachmentCount(iam, call.accountId, policy.body.arn)) };
  },
});

/** The one version a keyhold policy has: its document as created. */
const DEFAULT_VERSION = "v1";

export const getPolicyVersion = defineIamOperation<GetPolicyVersionRequest, GetPolicyVersionResponse>({
  name: "GetPolicyVersion",
  description: "Read a customer managed policy's document (its one version, v1; URL-encoded, as IAM returns it).",
  readOnly: true,
  input: struct({ PolicyArn: Arn, VersionId: str({ pattern: /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/ }) }, ["PolicyArn", "VersionId"]),
  async run(iam, call, input) {
    await iam.authorize(call, input.PolicyArn!);
    const policy = await requirePolicy(iam, call, input.PolicyArn!);
    if (input.VersionId !== DEFAULT_VERSION) {
      throw new ServiceError("NoSuchEntity", `Policy ${input.PolicyArn} version ${input.VersionId} does not exist or is not attachable.`);
    }
    return {
      PolicyVersion: {
        Document: encodeDocument(policy.body.document),
        VersionId: DEFAULT_VERSION,
        IsDefaultVersion: true,
        CreateDate: new Date(policy.body.createDate),
      },
    };
  },
});

export const listPolicyVersions = defineIamOperation<ListPolicyVersionsRequest, ListPolicyVersionsResponse>({
  name: "ListPolicyVersions",
  description:
    "List a customer managed policy's versions: its one version, v1, the default (what Terraform reads before deleting a policy).",
  readOnly: true,
  input: struct({ PolicyArn: Arn, Marker, MaxItems }, ["PolicyArn"]),
  async run(iam, call, input) {
    await iam.authorize(call, input.PolicyArn!);
    const policy = await requirePolicy(iam, call, input.PolicyArn!);
    const versions = [{ VersionId: DEFAULT_VERSION, IsDefaultVersion: true, CreateDate: new Date(policy.body.createDate) }];
    const { page, IsTruncated, Marker } = pageOf(versions, (v) => v.VersionId, input.Marker, input.MaxItems);
    return { Versions: page, IsTruncated, Marker };
  },
});

export const listPolicies = defineIamOperation<ListPoliciesRequest, ListPoliciesResponse>({
  name: "ListPolicies",
  description: "List the account's customer managed policies (AWS managed policies are not served), optionally only attached ones.",
  readOnly: true,
  input: struct({ Scope: enumOf(["All", "AWS", "Local"]), OnlyAttached: bool(), PathPrefix, Marker, MaxItems }),
  async run(iam, call, input) {
    await iam.authorize(call, "*");
    const local = input.Scope === "AWS" ? [] : await iam.directory.list("iam-policy", call.accountId);
    const counted = await Promise.all(
      local
        .filter((p) => p.body.path.startsWith(input.PathPrefix ?? "/"))
        .map(async (p) => ({ p, attachments: await attachmentCount(iam, call.accountId, p.body.arn) })),
    );
    const listed = counted.filter(({ attachments }) => !input.OnlyAttached || attachments > 0);
    const { page, IsTruncated, Marker } = pageOf(listed, ({ p }) => p.name, input.Marker, input.MaxItems);
    return { Policies: page.map(({ p, attachments }) => policyShape(p.name, p.body, attachments)), IsTruncated, Marker };
  },
});

export const deletePolicy = defineIamOperation<DeletePolicyRequest, Record<string, never>>({
  name: "DeletePolicy",
  description: "Delete a customer managed policy that is attached to nothing.",
  readOnly: false,
  input: struct({ PolicyArn: Arn }, ["PolicyArn"]),
  async run(iam, call, input) {
    await iam.authorize(call, input.PolicyArn!);
    const policy = await requirePolicy(iam, call, input.PolicyArn!);
    if ((await attachmentCount(iam, call.accountId, policy.body.arn)) > 0) {
      throw new ServiceError("DeleteConflict", "Cannot delete a policy attached to entities.");
    }
    await iam.directory.delete("iam-policy", call.accountId, policy.name);
    return {};
  },
});

type Input = Record<string, string | number | undefined>;

/** iam:PolicyARN, the condition key of attaching and detaching a managed policy: which policy. */
const policyArnKey = (arn: string) => () => new ContextValues().set("iam:PolicyARN", arn);

function attachmentOperations(e: (typeof POLICY_HOLDERS)[number]): IamOperation[] {
  const nameMember = `${e.label}Name`;
  const lower = e.label.toLowerCase();
  return [
    defineIamOperation<Input, Record<string, never>>({
      name: `Attach${e.label}Policy`,
      description: `Attach a managed policy to an IAM ${lower} (at most ${QUOTAS.managedPoliciesPerEntity}).`,
      readOnly: false,
      input: struct({ [nameMember]: e.nameShape, PolicyArn: Arn }, [nameMember, "PolicyArn"]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name, policyArnKey(input.PolicyArn as string));
        const policy = await requirePolicy(iam, call, input.PolicyArn as string);
        await iam.directory.update(e.kind, call.accountId, name, (body) => {
          if (body.attached.includes(policy.body.arn)) return false;
          if (body.attached.length >= QUOTAS.managedPoliciesPerEntity) {
            throw new ServiceError("LimitExceeded", `Cannot exceed quota for PoliciesPer${e.label}: ${QUOTAS.managedPoliciesPerEntity}`);
          }
          body.attached.push(policy.body.arn);
          return true;
        });
        return {};
      },
    }),
    defineIamOperation<Input, Record<string, never>>({
      name: `Detach${e.label}Policy`,
      description: `Detach a managed policy from an IAM ${lower}.`,
      readOnly: false,
      input: struct({ [nameMember]: e.nameShape, PolicyArn: Arn }, [nameMember, "PolicyArn"]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name, policyArnKey(input.PolicyArn as string));
        await iam.directory.update(e.kind, call.accountId, name, (body) => {
          const at = body.attached.indexOf(input.PolicyArn as string);
          if (at < 0) throw new ServiceError("NoSuchEntity", `Policy ${input.PolicyArn} was not found.`);
          body.attached.splice(at, 1);
        });
        return {};
      },
    }),
    defineIamOperation<Input, Record<string, unknown>>({
      name: `ListAttached${e.label}Policies`,
      description: `List the managed policies attached to an IAM ${lower}.`,
      readOnly: true,
      input: struct({ [nameMember]: e.nameShape, PathPrefix: str({ min: 1, max: 512 }), Marker, MaxItems }, [nameMember]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name);
        const entity = await iam.directory.require(e.kind, call.accountId, name);
        const attached = [...entity.body.attached]
          .sort()
          .map((arn) => ({ PolicyName: arn.slice(arn.lastIndexOf("/") + 1), PolicyArn: arn }));
        const { page, IsTruncated, Marker } = pageOf(
          attached,
          (a) => a.PolicyArn,
          input.Marker as string | undefined,
          input.MaxItems as number | undefined,
        );
        return { AttachedPolicies: page, IsTruncated, Marker };
      },
    }),
  ];
}

export const ATTACHMENT_OPERATIONS: readonly IamOperation[] = POLICY_HOLDERS.flatMap(attachmentOperations);
