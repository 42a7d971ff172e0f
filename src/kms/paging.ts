/**
 * Opaque Marker values for the KMS List operations: the operation's name and the sort key of the
 * last item returned. A marker is good only for the operation that returned it (a ListKeys marker
 * given to ListAliases is InvalidMarkerException, as in KMS).
 */
import { ServiceError } from "../errors.js";

const PREFIX = "khm1:";

export function encodeMarker(operation: string, lastSortKey: string | undefined): string | undefined {
  return lastSortKey === undefined ? undefined : Buffer.from(`${PREFIX}${operation}:${lastSortKey}`, "utf8").toString("base64url");
}

export function decodeMarker(operation: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(marker) ? Buffer.from(marker, "base64url").toString("utf8") : "";
  const prefix = `${PREFIX}${operation}:`;
  if (!text.startsWith(prefix)) throw new ServiceError("InvalidMarkerException", "The Marker is not one this operation returned.");
  return text.slice(prefix.length);
}
