/** Tag rules of KMS: no `aws:` prefix, no duplicate keys in one request, at most 50 per key. */
import { ServiceError } from "../errors.js";
import type { Tag } from "../store/records.js";

export const MAX_TAGS_PER_KEY = 50;

export function checkTags(tags: Tag[]): Tag[] {
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.TagKey.startsWith("aws:")) throw new ServiceError("TagException", `Tag key '${t.TagKey}' uses the reserved prefix 'aws:'.`);
    if (seen.has(t.TagKey)) throw new ServiceError("TagException", `Duplicate tag key '${t.TagKey}'.`);
    seen.add(t.TagKey);
  }
  if (tags.length > MAX_TAGS_PER_KEY)
    throw new ServiceError("LimitExceededException", `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
  return tags;
}
