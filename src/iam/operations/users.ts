/** IAM users: CreateUser, GetUser, ListUsers, DeleteUser, ListGroupsForUser. */
import type {
  CreateUserRequest,
  CreateUserResponse,
  DeleteUserRequest,
  GetUserRequest,
  GetUserResponse,
  ListGroupsForUserRequest,
  ListGroupsForUserResponse,
  ListUsersRequest,
  ListUsersResponse,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { iamArn, uniqueId } from "../directory.js";
import {
  defineIamOperation,
  entityExists,
  groupShape,
  Marker,
  MaxItems,
  pageOf,
  Path,
  PathPrefix,
  PermissionsBoundary,
  refuseUnkept,
  Tags,
  UserName,
  userShape,
} from "../service.js";

export const createUser = defineIamOperation<CreateUserRequest, CreateUserResponse>({
  name: "CreateUser",
  description: "Create an IAM user in the caller's account.",
  readOnly: false,
  input: struct({ Path, UserName, PermissionsBoundary, Tags }, ["UserName"]),
  async run(iam, call, input) {
    refuseUnkept(input, "user");
    const path = input.Path ?? "/";
    const arn = iamArn(call.accountId, "user", path, input.UserName!);
    await iam.authorize(call, arn);
    const now = iam.clock.now();
    const body = { userId: uniqueId("AIDA"), path, arn, createDate: now, inline: {}, attached: [], groups: [] };
    if (!(await iam.directory.create("iam-user", call.accountId, input.UserName!, body, now))) throw entityExists("User", input.UserName!);
    return { User: userShape(input.UserName!, body) };
  },
});

export const getUser = defineIamOperation<GetUserRequest, GetUserResponse>({
  name: "GetUser",
  description: "Describe an IAM user (without a name: the caller).",
  readOnly: true,
  input: struct({ UserName }),
  async run(iam, call, input) {
    const p = call.principal;
    const name = input.UserName ?? p.userName;
    if (name === undefined) {
      if (p.type !== "Root") throw new ServiceError("ValidationError", "Must specify userName when calling with non-User credentials");
      const account = await iam.repo.getAccount(p.accountId);
      return { User: { Path: "/", UserName: undefined, UserId: p.accountId, Arn: p.arn, CreateDate: new Date(account?.createdAt ?? 0) } };
    }
    await iam.authorizeEntity(call, "iam-user", name);
    const user = await iam.directory.require("iam-user", call.accountId, name);
    return { User: userShape(name, user.body) };
  },
});

export const listUsers = defineIamOperation<ListUsersRequest, ListUsersResponse>({
  name: "ListUsers",
  description: "List the account's IAM users.",
  readOnly: true,
  input: struct({ PathPrefix, Marker, MaxItems }),
  async run(iam, call, input) {
    await iam.authorize(call, "*");
    const users = (await iam.directory.list("iam-user", call.accountId)).filter((u) => u.body.path.startsWith(input.PathPrefix ?? "/"));
    const { page, IsTruncated, Marker } = pageOf(users, (u) => u.name, input.Marker, input.MaxItems);
    return { Users: page.map((u) => userShape(u.name, u.body)), IsTruncated, Marker };
  },
});

export const deleteUser = defineIamOperation<DeleteUserRequest, Record<string, never>>({
  name: "DeleteUser",
  description: "Delete an IAM user that has no access keys, policies or group memberships left.",
  readOnly: false,
  input: struct({ UserName }, ["UserName"]),
  async run(iam, call, input) {
    const name = input.UserName!;
    await iam.authorizeEntity(call, "iam-user", name);
    const user = await iam.directory.require("iam-user", call.accountId, name);
    const conflict = (what: string) => new ServiceError("DeleteConflict", `Cannot delete entity, must ${what} first.`);
    if (await iam.directory.get("iam-login-profile", call.accountId, name)) throw conflict("delete login profile");
    if ((await iam.repo.listAccessKeys(call.accountId, name)).length > 0) throw conflict("delete access keys");
    if (Object.keys(user.body.inline).length > 0) throw conflict("delete policies");
    if (user.body.attached.length > 0) throw conflict("detach all policies");
    if (user.body.groups.length > 0) throw conflict("remove users from group");
    await iam.directory.delete("iam-user", call.accountId, name);
    return {};
  },
});

export const listGroupsForUser = defineIamOperation<ListGroupsForUserRequest, ListGroupsForUserResponse>({
  name: "ListGroupsForUser",
  description: "List the groups an IAM user belongs to.",
  readOnly: true,
  input: struct({ UserName, Marker, MaxItems }, ["UserName"]),
  async run(iam, call, input) {
    await iam.authorizeEntity(call, "iam-user", input.UserName!);
    const user = await iam.directory.require("iam-user", call.accountId, input.UserName!);
    const groups = [];
    for (const name of [...user.body.groups].sort()) {
      const g = await iam.directory.get("iam-group", call.accountId, name);
      if (g) groups.push(groupShape(name, g.body));
    }
    const { page, IsTruncated, Marker } = pageOf(groups, (g) => g.GroupName, input.Marker, input.MaxItems);
    return { Groups: page, IsTruncated, Marker };
  },
});
