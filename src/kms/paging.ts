/** Opaque Marker values for the KMS List operations: the sort key of the last item returned. */
import { ServiceError } from "../errors.js";

const PREFIX = "khm1:";

export function encodeMarker(lastSortKey: string | undefined): string | undefined {
  return lastSortKey === undefined ? undefined : Buffer.from(PREFIX + lastSortKey, "utf8").toString("base64url");
}

export function decodeMarker(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(marker) ? Buffer.from(marker, "base64url").toString("utf8") : "";
  if (!text.startsWith(PREFIX)) throw new ServiceError("InvalidMarkerException", "The Marker is not one this operation returned.");
  return text.slice(PREFIX.length);
}
