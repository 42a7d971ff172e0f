/** Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed. */
import type {
  CreateAccessKeyRequest,
  CreateAccessKeyResponse,
  DeleteAccessKeyRequest,
  GetAccessKeyLastUsedRequest,
  GetAccessKeyLastUsedResponse,
  ListAccessKeysRequest,
  ListAccessKeysResponse,
  UpdateAccessKeyRequest,
} from "@aws-sdk/client-iam";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import type { AccessKeyRecord } from "../../store/records.js";
import { enumOf, struct } from "../../validation/schema.js";
import { generateAccessKeyId, generateSecretAccessKey } from "../credentials.js";
import { rootArn } from "../principal.js";
import { AccessKeyId, defineIamOperation, Marker, MaxItems, QUOTAS, UserName, type IamService } from "../service.js";

/** The user an access-key call is about: the named one, or the caller itself (undefined: the root user). */
async function owner(iam: IamService, call: CallContext, userName: string | undefined): Promise<string | undefined> {
  const name = userName ?? call.principal.userName;
  if (name === undefined && call.principal.type !== "Root") {
    throw new ServiceError("ValidationError", "Must specify userName when calling with non-User credentials");
  }
  if (name === undefined) {
    await iam.authorize(call, call.principal.arn);
  } else {
    await iam.authorizeEntity(call, "iam-user", name);
    await iam.directory.require("iam-user", call.accountId, name);
  }
  return name;
}

function metadata(k: AccessKeyRecord) {
  return { UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: new Date(k.createdAt) };
}

/**
 * A long-term access key of the caller's account owned by `owner` (a user's name; undefined for
 * the root user; null for any owner): NoSuchEntity otherwise.
 */
async function accountKey(
  iam: IamService,
  call: CallContext,
  accessKeyId: string,
  owner: string | undefined | null,
): Promise<AccessKeyRecord> {
  const key = await iam.repo.getAccessKey(accessKeyId);
  if (!key || key.accountId !== call.accountId || key.session || (owner !== null && key.userName !== owner)) {
    throw new ServiceError("NoSuchEntity", `The Access Key with id ${accessKeyId} cannot be found.`);
  }
  return key;
}

export const createAccessKey = defineIamOperation<CreateAccessKeyRequest, CreateAccessKeyResponse>({
  name: "CreateAccessKey",
  description: "Create an access key for an IAM user (at most two each); the secret is shown only in this response.",
  readOnly: false,
  input: struct({ UserName }),
  async run(iam, call, input) {
    const userName = await owner(iam, call, input.UserName);
    if ((await iam.repo.listAccessKeys(call.accountId, userName)).length >= QUOTAS.accessKeysPerUser) {
      throw new ServiceError("LimitExceeded", `Cannot exceed quota for AccessKeysPerUser: ${QUOTAS.accessKeysPerUser}`);
    }
    const accessKeyId = generateAccessKeyId();
    const secret = generateSecretAccessKey();
    const record = await iam.credentials.addAccessKey(call.accountId, accessKeyId, secret, iam.clock.now(), { userName });
    return { AccessKey: { ...metadata(record), UserName: userName, SecretAccessKey: secret } };
  },
});

export const listAccessKeys = defineIamOperation<ListAccessKeysRequest, ListAccessKeysResponse>({
  name: "ListAccessKeys",
  description: "List an IAM user's access keys (ids and status; never secrets).",
  readOnly: true,
  input: struct({ UserName, Marker, MaxItems }),
  async run(iam, call, input) {
    const userName = await owner(iam, call, input.UserName);
    const keys = await iam.repo.listAccessKeys(call.accountId, userName);
    return { AccessKeyMetadata: keys.map(metadata), IsTruncated: false };
  },
});

export const updateAccessKey = defineIamOperation<UpdateAccessKeyRequest, Record<string, never>>({
  name: "UpdateAccessKey",
  description: "Make an access key Active or Inactive; an inactive key stops working on the next request.",
  readOnly: false,
  input: struct({ UserName, AccessKeyId, Status: enumOf(["Active", "Inactive"]) }, ["AccessKeyId", "Status"]),
  async run(iam, call, input) {
    const userName = await owner(iam, call, input.UserName);
    const key = await accountKey(iam, call, input.AccessKeyId!, userName);
    await iam.repo.putAccessKey({ ...key, status: input.Status as AccessKeyRecord["status"] });
    return {};
  },
});

export const deleteAccessKey = defineIamOperation<DeleteAccessKeyRequest, Record<string, never>>({
  name: "DeleteAccessKey",
  description: "Delete an access key; it stops working on the next request.",
  readOnly: false,
  input: struct({ UserName, AccessKeyId }, ["AccessKeyId"]),
  async run(iam, call, input) {
    const userName = await owner(iam, call, input.UserName);
    await accountKey(iam, call, input.AccessKeyId!, userName);
    await iam.repo.deleteAccessKey(input.AccessKeyId!);
    return {};
  },
});

export const getAccessKeyLastUsed = defineIamOperation<GetAccessKeyLastUsedRequest, GetAccessKeyLastUsedResponse>({
  name: "GetAccessKeyLastUsed",
  description: "When an access key of the account was last used, with which service and in which region (from the audit trail).",
  readOnly: true,
  input: struct({ AccessKeyId }, ["AccessKeyId"]),
  async run(iam, call, input) {
    const key = await accountKey(iam, call, input.AccessKeyId!, null);
    // The resource is the key's owner: its user, or the account's root.
    if (key.userName === undefined) await iam.authorize(call, rootArn(call.accountId));
    else await iam.authorizeEntity(call, "iam-user", key.userName);
    const used = await iam.accessKeyUse?.accessKeyLastUse(key.accessKeyId);
    return {
      UserName: key.userName,
      // "N/A" for a key not used since tracking began, as IAM answers.
      AccessKeyLastUsed: used
        ? {
            LastUsedDate: new Date(used.eventTime),
            ServiceName: used.eventSource.replace(/\.amazonaws\.com$/, ""),
            Region: used.region ?? "N/A",
          }
        : { ServiceName: "N/A", Region: "N/A" },
    };
  },
});
