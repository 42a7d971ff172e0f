/**
 * ListSecrets' and BatchGetSecretValue's Filters, as Secrets Manager matches them: each value a
 * prefix (a leading "!" negates it); name, tag-key, tag-value and primary-region case-sensitive,
 * description and all not; values of one filter are alternatives, filters all apply.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_search-secret.html
 */
import type { SecretBody } from "./service.js";

export interface Filter {
  Key?: string;
  Values?: string[];
}

export function matchesFilters(body: SecretBody, filters: readonly Filter[]): boolean {
  return filters.every((f) => matchesFilter(body, f));
}

function matchesFilter(body: SecretBody, filter: Filter): boolean {
  const values = filter.Values ?? [];
  const positive = values.filter((v) => !v.startsWith("!"));
  const negative = values.filter((v) => v.startsWith("!")).map((v) => v.slice(1));
  const hit = (value: string) => matchesValue(body, filter.Key ?? "", value);
  if (negative.some(hit)) return false;
  return positive.length === 0 ? negative.length > 0 : positive.some(hit);
}

function matchesValue(body: SecretBody, key: string, value: string): boolean {
  switch (key) {
    case "name":
      return body.name.startsWith(value);
    case "description":
      return (body.description ?? "").toLowerCase().startsWith(value.toLowerCase());
    case "tag-key":
      return body.tags.some((t) => t.Key.startsWith(value));
    case "tag-value":
      return body.tags.some((t) => t.Value.startsWith(value));
    case "primary-region":
      return (body.primaryRegion ?? body.region).startsWith(value);
    case "all": {
      // Every word of the value is a prefix of some word of the secret's name, description or tags.
      const words = attributeWords(body);
      return value
        .toLowerCase()
        .split(" ")
        .filter((w) => w !== "")
        .every((w) => words.some((x) => x.startsWith(w)));
    }
    default:
      // owning-service: no keyhold secret is managed by another service.
      return false;
  }
}

function attributeWords(body: SecretBody): string[] {
  const texts = [body.name, body.description ?? "", ...body.tags.flatMap((t) => [t.Key, t.Value])];
  const words: string[] = [];
  for (const t of texts) {
    const lower = t.toLowerCase();
    words.push(lower);
    for (const w of lower.split(/[^a-z0-9]+/)) if (w !== "") words.push(w);
  }
  return words;
}
