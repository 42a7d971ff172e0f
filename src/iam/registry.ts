/** Every IAM operation keyhold serves, in one table. The wire name is each operation's `name`. */
import { createAccessKey, deleteAccessKey, getAccessKeyLastUsed, listAccessKeys, updateAccessKey } from "./operations/access-keys.js";
import { addUserToGroup, createGroup, deleteGroup, getGroup, listGroups, removeUserFromGroup } from "./operations/groups.js";
import { INLINE_POLICY_OPERATIONS } from "./operations/inline-policies.js";
import { LOGIN_PROFILE_OPERATIONS } from "./operations/login-profiles.js";
import { PASSWORD_POLICY_OPERATIONS } from "./operations/password-policy.js";
import {
  ATTACHMENT_OPERATIONS,
  createPolicy,
  deletePolicy,
  getPolicy,
  getPolicyVersion,
  listPolicyVersions,
  listPolicies,
} from "./operations/managed-policies.js";
import { createRole, deleteRole, getRole, listInstanceProfilesForRole, listRoles } from "./operations/roles.js";
import { createUser, deleteUser, getUser, listGroupsForUser, listUsers } from "./operations/users.js";
import type { IamOperation } from "./service.js";

export const IAM_OPERATIONS: readonly IamOperation[] = [
  createUser,
  getUser,
  listUsers,
  deleteUser,
  listGroupsForUser,
  createAccessKey,
  listAccessKeys,
  updateAccessKey,
  deleteAccessKey,
  getAccessKeyLastUsed,
  createGroup,
  getGroup,
  listGroups,
  deleteGroup,
  addUserToGroup,
  removeUserFromGroup,
  createRole,
  getRole,
  listRoles,
  listInstanceProfilesForRole,
  deleteRole,
  createPolicy,
  getPolicy,
  getPolicyVersion,
  listPolicyVersions,
  listPolicies,
  deletePolicy,
  ...INLINE_POLICY_OPERATIONS,
  ...ATTACHMENT_OPERATIONS,
  ...LOGIN_PROFILE_OPERATIONS,
  ...PASSWORD_POLICY_OPERATIONS,
];

export const IAM_OPERATIONS_BY_NAME = new Map(IAM_OPERATIONS.map((op) => [op.name, op]));
export const IAM_VERSION = "2010-05-08";
export const IAM_XML_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
