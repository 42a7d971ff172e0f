/** IAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, AddUserToGroup, RemoveUserFromGroup. */
import type {
  AddUserToGroupRequest,
  CreateGroupRequest,
  CreateGroupResponse,
  DeleteGroupRequest,
  GetGroupRequest,
  GetGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  RemoveUserFromGroupRequest,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { iamArn, uniqueId } from "../directory.js";
import {
  defineIamOperation,
  entityExists,
  GroupName,
  groupShape,
  Marker,
  MaxItems,
  pageOf,
  Path,
  PathPrefix,
  QUOTAS,
  UserName,
  userShape,
} from "../service.js";

export const createGroup = defineIamOperation<CreateGroupRequest, CreateGroupResponse>({
  name: "CreateGroup",
  description: "Create an IAM group; its policies apply to every member.",
  readOnly: false,
  input: struct({ Path, GroupName }, ["GroupName"]),
  async run(iam, call, input) {
    const path = input.Path ?? "/";
    const arn = iamArn(call.accountId, "group", path, input.GroupName!);
    await iam.authorize(call, arn);
    const now = iam.clock.now();
    const body = { groupId: uniqueId("AGPA"), path, arn, createDate: now, inline: {}, attached: [] };
    if (!(await iam.directory.create("iam-group", call.accountId, input.GroupName!, body, now)))
      throw entityExists("Group", input.GroupName!);
    return { Group: groupShape(input.GroupName!, body) };
  },
});

export const getGroup = defineIamOperation<GetGroupRequest, GetGroupResponse>({
  name: "GetGroup",
  description: "Describe an IAM group and list its members.",
  readOnly: true,
  input: struct({ GroupName, Marker, MaxItems }, ["GroupName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-group", input.GroupName!);
    const group = await iam.directory.require("iam-group", call.accountId, input.GroupName!);
    const members = (await iam.directory.list("iam-user", call.accountId)).filter((u) => u.body.groups.includes(input.GroupName!));
    const { page, IsTruncated, Marker } = pageOf(members, (u) => u.name, input.Marker, input.MaxItems);
    return { Group: groupShape(input.GroupName!, group.body), Users: page.map((u) => userShape(u.name, u.body)), IsTruncated, Marker };
  },
});

export const listGroups = defineIamOperation<ListGroupsRequest, ListGroupsResponse>({
  name: "ListGroups",
  description: "List the account's IAM groups whose path starts with a prefix, by name.",
  readOnly: true,
  input: struct({ PathPrefix, Marker, MaxItems }),
  async run(iam, call, input) {
    await iam.authorize(call, "*");
    const groups = (await iam.directory.list("iam-group", call.accountId)).filter((g) => g.body.path.startsWith(input.PathPrefix ?? "/"));
    const { page, IsTruncated, Marker } = pageOf(groups, (g) => g.name, input.Marker, input.MaxItems);
    return { Groups: page.map((g) => groupShape(g.name, g.body)), IsTruncated, Marker };
  },
});

export const deleteGroup = defineIamOperation<DeleteGroupRequest, Record<string, never>>({
  name: "DeleteGroup",
  description: "Delete an IAM group that has no members and no policies.",
  readOnly: false,
  input: struct({ GroupName }, ["GroupName"]),
  async run(iam, call, input) {
    const name = input.GroupName!;
    await iam.authorizeEntity(call, "iam-group", name);
    const group = await iam.directory.require("iam-group", call.accountId, name);
    const conflict = (what: string) => new ServiceError("DeleteConflict", `Cannot delete entity, must ${what} first.`);
    if ((await iam.directory.list("iam-user", call.accountId)).some((u) => u.body.groups.includes(name)))
      throw conflict("remove users from group");
    if (Object.keys(group.body.inline).length > 0) throw conflict("delete policies");
    if (group.body.attached.length > 0) throw conflict("detach all policies");
    await iam.directory.delete("iam-group", call.accountId, name);
    return {};
  },
});

export const addUserToGroup = defineIamOperation<AddUserToGroupRequest, Record<string, never>>({
  name: "AddUserToGroup",
  description: "Make an IAM user a member of a group.",
  readOnly: false,
  input: struct({ GroupName, UserName }, ["GroupName", "UserName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-group", input.GroupName!);
    await iam.directory.require("iam-group", call.accountId, input.GroupName!);
    await iam.directory.update("iam-user", call.accountId, input.UserName!, (user) => {
      if (user.groups.includes(input.GroupName!)) return false;
      if (user.groups.length >= QUOTAS.groupsPerUser) {
        throw new ServiceError("LimitExceeded", `Cannot exceed quota for GroupsPerUser: ${QUOTAS.groupsPerUser}`);
      }
      user.groups.push(input.GroupName!);
      return true;
    });
    return {};
  },
});

export const removeUserFromGroup = defineIamOperation<RemoveUserFromGroupRequest, Record<string, never>>({
  name: "RemoveUserFromGroup",
  description: "Remove an IAM user from a group.",
  readOnly: false,
  input: struct({ GroupName, UserName }, ["GroupName", "UserName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-group", input.GroupName!);
    await iam.directory.require("iam-group", call.accountId, input.GroupName!);
    await iam.directory.update("iam-user", call.accountId, input.UserName!, (user) => {
      const at = user.groups.indexOf(input.GroupName!);
      if (at < 0) throw new ServiceError("NoSuchEntity", `The user ${input.UserName} is not in group ${input.GroupName}.`);
      user.groups.splice(at, 1);
    });
    return {};
  },
});
