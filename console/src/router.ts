/**
 * Hash routing: /console/#/keys/1234abcd… . The server serves one index.html at /console/, and
 * the part after '#' never reaches it (nor its logs), so no route needs a server-side fallback.
 */
import { useEffect, useState } from "react";

/** The current route: the path after '#', always starting with '/'. */
export function currentPath(): string {
  const hash = window.location.hash.replace(/^#/, "");
  return hash.startsWith("/") ? hash : "/";
}

export function useRoute(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return path;
}

export function navigate(path: string): void {
  window.location.hash = path;
}

/** An href for a route, for links (Cloudscape's Link, SideNavigation, BreadcrumbGroup). */
export function href(path: string): string {
  return `#${path}`;
}

/** Follows a Cloudscape link event through the router instead of reloading the page. */
export function followLink(event: CustomEvent<{ href?: string; external?: boolean }>): void {
  const target = event.detail.href;
  if (!target || event.detail.external || !target.startsWith("#")) return;
  event.preventDefault();
  navigate(target.slice(1));
}

/**
 * Matches a path against a pattern such as "/keys/:keyId": the parameters (decoded) when it
 * matches, else undefined.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const [route] = path.split("?");
  const want = pattern.split("/").filter(Boolean);
  const have = (route ?? "").split("/").filter(Boolean);
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(":")) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return undefined;
      }
    } else if (w !== h) return undefined;
  }
  return params;
}

/** The query part of the current route (#/keys?tab=aws), as parameters. */
export function routeQuery(path: string): URLSearchParams {
  const i = path.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : path.slice(i + 1));
}
