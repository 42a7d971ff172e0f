/** IAM roles: CreateRole (with its trust policy), GetRole, DeleteRole, ListRoles, ListInstanceProfilesForRole. */
import type {
  CreateRoleRequest,
  CreateRoleResponse,
  DeleteRoleRequest,
  GetRoleRequest,
  GetRoleResponse,
  ListInstanceProfilesForRoleRequest,
  ListInstanceProfilesForRoleResponse,
  ListRolesRequest,
  ListRolesResponse,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../errors.js";
import { int, str, struct } from "../../validation/schema.js";
import { checkPolicyDocument, iamArn, policySize, uniqueId } from "../directory.js";
import { firstUnknownPrincipal } from "../principal-check.js";
import {
  defineIamOperation,
  entityExists,
  Marker,
  MaxItems,
  pageOf,
  Path,
  PathPrefix,
  PermissionsBoundary,
  PolicyDocument,
  refuseUnkept,
  RoleName,
  roleShape,
  Tags,
} from "../service.js";

/** IAM's default quota on a role trust policy, in characters without whitespace. */
const MAX_TRUST_POLICY_SIZE = 2048;

export const createRole = defineIamOperation<CreateRoleRequest, CreateRoleResponse>({
  name: "CreateRole",
  description: "Create an IAM role; its trust policy says who may assume it (STS AssumeRole).",
  readOnly: false,
  input: struct(
    {
      Path,
      RoleName,
      AssumeRolePolicyDocument: PolicyDocument,
      Description: str({ max: 1000 }),
      MaxSessionDuration: int({ min: 3600, max: 43200 }),
      PermissionsBoundary,
      Tags,
    },
    ["RoleName", "AssumeRolePolicyDocument"],
  ),
  async run(iam, call, input) {
    refuseUnkept(input, "role");
    const path = input.Path ?? "/";
    const arn = iamArn(call.accountId, "role", path, input.RoleName!);
    await iam.authorize(call, arn);
    // IAM's quota on a role's trust policy (ACLSizePerRole), checked before any work is spent on it:
    // the document is compiled at every AssumeRole.
    if (policySize(input.AssumeRolePolicyDocument!) > MAX_TRUST_POLICY_SIZE) {
      throw new ServiceError("LimitExceeded", `Cannot exceed quota for ACLSizePerRole: ${MAX_TRUST_POLICY_SIZE}`);
    }
    const trust = checkPolicyDocument(input.AssumeRolePolicyDocument!, "trust");
    const unknown = await firstUnknownPrincipal(trust, iam.repo);
    if (unknown !== undefined) throw new ServiceError("MalformedPolicyDocument", `Invalid principal in policy: "AWS":"${unknown}"`);
    const now = iam.clock.now();
    const body = {
      roleId: uniqueId("AROA"),
      path,
      arn,
      createDate: now,
      trustPolicy: input.AssumeRolePolicyDocument!,
      description: input.Description,
      maxSessionDuration: input.MaxSessionDuration ?? 3600,
      inline: {},
      attached: [],
    };
    if (!(await iam.directory.create("iam-role", call.accountId, input.RoleName!, body, now))) throw entityExists("Role", input.RoleName!);
    return { Role: roleShape(input.RoleName!, body) };
  },
});

export const getRole = defineIamOperation<GetRoleRequest, GetRoleResponse>({
  name: "GetRole",
  description: "Describe an IAM role, its trust policy URL-encoded.",
  readOnly: true,
  input: struct({ RoleName }, ["RoleName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-role", input.RoleName!);
    const role = await iam.directory.require("iam-role", call.accountId, input.RoleName!);
    return { Role: roleShape(input.RoleName!, role.body) };
  },
});

export const listRoles = defineIamOperation<ListRolesRequest, ListRolesResponse>({
  name: "ListRoles",
  description: "List the account's IAM roles.",
  readOnly: true,
  input: struct({ PathPrefix, Marker, MaxItems }),
  async run(iam, call, input) {
    await iam.authorize(call, "*");
    const roles = (await iam.directory.list("iam-role", call.accountId)).filter((r) => r.body.path.startsWith(input.PathPrefix ?? "/"));
    const { page, IsTruncated, Marker } = pageOf(roles, (r) => r.name, input.Marker, input.MaxItems);
    return { Roles: page.map((r) => roleShape(r.name, r.body)), IsTruncated, Marker };
  },
});

export const listInstanceProfilesForRole = defineIamOperation<ListInstanceProfilesForRoleRequest, ListInstanceProfilesForRoleResponse>({
  name: "ListInstanceProfilesForRole",
  description:
    "List a role's instance profiles: keyhold has no EC2, so none (what Terraform reads before deleting a role); NoSuchEntity for an unknown role.",
  readOnly: true,
  input: struct({ RoleName, Marker, MaxItems }, ["RoleName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-role", input.RoleName!);
    await iam.directory.require("iam-role", call.accountId, input.RoleName!);
    return { InstanceProfiles: [], IsTruncated: false };
  },
});

export const deleteRole = defineIamOperation<DeleteRoleRequest, Record<string, never>>({
  name: "DeleteRole",
  description: "Delete an IAM role with no policies left; its sessions stop working at once.",
  readOnly: false,
  input: struct({ RoleName }, ["RoleName"]),
  async run(iam, call, input) {
    const name = input.RoleName!;
    await iam.authorizeEntity(call, "iam-role", name);
    const role = await iam.directory.require("iam-role", call.accountId, name);
    const conflict = (what: string) => new ServiceError("DeleteConflict", `Cannot delete entity, must ${what} first.`);
    if (Object.keys(role.body.inline).length > 0) throw conflict("delete policies");
    if (role.body.attached.length > 0) throw conflict("detach all policies");
    await iam.directory.delete("iam-role", call.accountId, name);
    return {};
  },
});
