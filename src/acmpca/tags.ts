/** Tags on a CA: at most 50, keys not starting with aws: (AWS reserves them). */
import { ServiceError } from "../errors.js";
import { MAX_TAGS, type AuthorityBody } from "./service.js";

export function checkTagKeys(tags: readonly { Key?: string }[]): void {
  for (const t of tags) {
    if (t.Key!.toLowerCase().startsWith("aws:"))
      throw new ServiceError("InvalidTagException", `The tag key ${t.Key} is reserved: keys starting with aws: are AWS's.`);
  }
}

export function mergeTags(existing: AuthorityBody["tags"], added: readonly { Key?: string; Value?: string }[]): AuthorityBody["tags"] {
  const out = new Map(existing.map((t) => [t.Key, t] as const));
  for (const t of added) out.set(t.Key!, { Key: t.Key!, Value: t.Value });
  if (out.size > MAX_TAGS) throw new ServiceError("TooManyTagsException", `A certificate authority has at most ${MAX_TAGS} tags.`);
  return [...out.values()];
}
