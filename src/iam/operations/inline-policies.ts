/**
 * Inline policies of users, groups and roles: Put/Get/List/Delete<Entity>Policy, made by one
 * factory since the three differ only in the entity they name.
 */
import { ServiceError } from "../../errors.js";
import type { Schema } from "../../validation/schema.js";
import { struct } from "../../validation/schema.js";
import { setOwn } from "../../validation/own-key.js";
import { checkPolicyDocument, policySize } from "../directory.js";
import {
  defineIamOperation,
  encodeDocument,
  GroupName,
  Marker,
  MaxItems,
  pageOf,
  PolicyDocument,
  PolicyName,
  RoleName,
  UserName,
  type IamOperation,
} from "../service.js";

interface Entity {
  kind: "iam-user" | "iam-group" | "iam-role";
  /** "User", "Group", "Role": in operation and member names. */
  label: "User" | "Group" | "Role";
  nameShape: Schema;
  /** IAM's quota on the entity's inline policies together (characters, whitespace not counted). */
  inlineLimit: number;
}

const ENTITIES: readonly Entity[] = [
  { kind: "iam-user", label: "User", nameShape: UserName, inlineLimit: 2048 },
  { kind: "iam-group", label: "Group", nameShape: GroupName, inlineLimit: 5120 },
  { kind: "iam-role", label: "Role", nameShape: RoleName, inlineLimit: 10_240 },
];

type Input = Record<string, string | number | undefined>;

function operationsFor(e: Entity): IamOperation[] {
  const nameMember = `${e.label}Name`;
  const lower = e.label.toLowerCase();
  return [
    defineIamOperation<Input, Record<string, never>>({
      name: `Put${e.label}Policy`,
      description: `Add or replace an inline policy of an IAM ${lower}.`,
      readOnly: false,
      input: struct({ [nameMember]: e.nameShape, PolicyName, PolicyDocument }, [nameMember, "PolicyName", "PolicyDocument"]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name);
        // A document over the entity's whole quota is refused before it is compiled (and cached).
        if (policySize(input.PolicyDocument as string) > e.inlineLimit) {
          throw new ServiceError("LimitExceeded", `Maximum policy size of ${e.inlineLimit} bytes exceeded for ${lower} ${name}`);
        }
        checkPolicyDocument(input.PolicyDocument as string, "identity");
        await iam.directory.update(e.kind, call.accountId, name, (body) => {
          // IAM bounds the inline policies of an entity together, counting every character but whitespace.
          const others = Object.entries(body.inline).filter(([n]) => n !== input.PolicyName);
          const size = [input.PolicyDocument as string, ...others.map(([, d]) => d)].reduce((n, d) => n + policySize(d), 0);
          if (size > e.inlineLimit) {
            throw new ServiceError("LimitExceeded", `Maximum policy size of ${e.inlineLimit} bytes exceeded for ${lower} ${name}`);
          }
          // A policy named __proto__ is a policy, not a prototype.
          setOwn(body.inline, input.PolicyName as string, input.PolicyDocument);
        });
        return {};
      },
    }),
    defineIamOperation<Input, Record<string, unknown>>({
      name: `Get${e.label}Policy`,
      description: `Read an inline policy of an IAM ${lower} (the document URL-encoded, as IAM returns it).`,
      readOnly: true,
      input: struct({ [nameMember]: e.nameShape, PolicyName }, [nameMember, "PolicyName"]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name);
        const entity = await iam.directory.require(e.kind, call.accountId, name);
        const document = entity.body.inline[input.PolicyName as string];
        if (document === undefined || !Object.hasOwn(entity.body.inline, input.PolicyName as string)) {
          throw new ServiceError("NoSuchEntity", `The ${lower} policy with name ${input.PolicyName} cannot be found.`);
        }
        return { [nameMember]: name, PolicyName: input.PolicyName, PolicyDocument: encodeDocument(document) };
      },
    }),
    defineIamOperation<Input, Record<string, unknown>>({
      name: `List${e.label}Policies`,
      description: `List the names of an IAM ${lower}'s inline policies.`,
      readOnly: true,
      input: struct({ [nameMember]: e.nameShape, Marker, MaxItems }, [nameMember]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        await iam.authorizeEntity(call, e.kind, name);
        const entity = await iam.directory.require(e.kind, call.accountId, name);
        const names = Object.keys(entity.body.inline).sort();
        const { page, IsTruncated, Marker } = pageOf(
          names,
          (n) => n,
          input.Marker as string | undefined,
          input.MaxItems as number | undefined,
        );
        return { PolicyNames: page, IsTruncated, Marker };
      },
    }),
    defineIamOperation<Input, Record<string, never>>({
      name: `Delete${e.label}Policy`,
      description: `Delete an inline policy of an IAM ${lower}.`,
      readOnly: false,
      input: struct({ [nameMember]: e.nameShape, PolicyName }, [nameMember, "PolicyName"]),
      async run(iam, call, input) {
        const name = input[nameMember] as string;
        const policyName = input.PolicyName as string;
        await iam.authorizeEntity(call, e.kind, name);
        await iam.directory.update(e.kind, call.accountId, name, (body) => {
          if (!Object.hasOwn(body.inline, policyName)) {
            throw new ServiceError("NoSuchEntity", `The ${lower} policy with name ${policyName} cannot be found.`);
          }
          delete body.inline[policyName];
        });
        return {};
      },
    }),
  ];
}

export const INLINE_POLICY_OPERATIONS: readonly IamOperation[] = ENTITIES.flatMap(operationsFor);
export { ENTITIES as POLICY_HOLDERS };
