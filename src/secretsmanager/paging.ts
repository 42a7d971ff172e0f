/** NextToken for the list operations: the position of the next item, checked on the way back in. */
import { ServiceError } from "../errors.js";

const TOKEN = /^p(\d{1,9})$/;

export function page<T>(items: readonly T[], nextToken: string | undefined, max: number): { items: T[]; next?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    const m = TOKEN.exec(Buffer.from(nextToken, "base64url").toString("latin1"));
    if (!m || Number(m[1]) > items.length) throw new ServiceError("InvalidNextTokenException", "The NextToken value is not valid.");
    start = Number(m[1]);
  }
  const end = start + max;
  return { items: items.slice(start, end), next: end < items.length ? Buffer.from(`p${end}`, "latin1").toString("base64url") : undefined };
}
