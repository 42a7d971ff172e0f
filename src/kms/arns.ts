/** KMS resource names and the identifier forms AWS accepts for a key. */
import { ServiceError } from "../errors.js";

export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

export type KeyReference =
  | { kind: "key"; keyId: string; region?: string; accountId?: string }
  | { kind: "alias"; aliasName: string; region?: string; accountId?: string };

/** Parses a key id, key ARN, alias name or alias ARN. */
export function parseKeyReference(value: string): KeyReference {
  if (KEY_ID.test(value)) return { kind: "key", keyId: value };
  if (value.startsWith("alias/")) return { kind: "alias", aliasName: value };
  if (value.startsWith("arn:")) {
    const m = ARN.exec(value);
    if (!m) throw new ServiceError("InvalidArnException", `Invalid arn ${value}`);
    const [, , region, accountId, type, resource] = m;
    if (type === "key") {
      if (!KEY_ID.test(resource!)) throw new ServiceError("NotFoundException", `Invalid keyId ${value}`);
      return { kind: "key", keyId: resource!, region: region!, accountId: accountId! };
    }
    return { kind: "alias", aliasName: `alias/${resource}`, region: region!, accountId: accountId! };
  }
  throw new ServiceError("NotFoundException", `Invalid keyId ${value}`);
}
