/**
 * The console's pages, one entry each: where it lives (a hash route, ":name" for a parameter),
 * its title, the side-navigation section it belongs to, and its code, loaded only when the page
 * is first shown (each page is its own chunk). The first entry whose path matches is shown.
 *
 * To add a page: a folder under pages/ whose module's default export is the page component
 * (it receives PageProps), and an entry here. `nav: false` keeps a page (a detail page, a wizard)
 * out of the side navigation.
 */
import type { ComponentType } from "react";

export interface PageProps {
  /** The route's parameters, decoded: {keyId} for "/keys/:keyId". */
  params: Record<string, string>;
  /** The whole route, query included ("/keys?tab=aws"). */
  path: string;
}

export interface PageEntry {
  path: string;
  title: string;
  section: string;
  nav?: boolean;
  load: () => Promise<{ default: ComponentType<PageProps> }>;
}

export const SECTIONS = ["Key Management Service", "Secrets Manager", "S3", "IAM", "CloudTrail"] as const;

export const pages: PageEntry[] = [
  { path: "/", title: "Home", section: "", nav: false, load: () => import("./home/home") },
  { path: "/keys", title: "Customer managed keys", section: "Key Management Service", load: () => import("./keys/list") },
  { path: "/aws-managed-keys", title: "AWS managed keys", section: "Key Management Service", load: () => import("./keys/list") },
  { path: "/keys/create", title: "Create key", section: "Key Management Service", nav: false, load: () => import("./keys/create") },
  { path: "/keys/:keyId", title: "Key", section: "Key Management Service", nav: false, load: () => import("./keys/detail") },
  // Secrets Manager, S3, IAM and CloudTrail (the "pages" part of issue 25).
  { path: "/secrets", title: "Secrets", section: "Secrets Manager", load: () => import("./secrets/list") },
  { path: "/secrets/create", title: "Store a new secret", section: "Secrets Manager", nav: false, load: () => import("./secrets/create") },
  { path: "/secrets/:name", title: "Secret", section: "Secrets Manager", nav: false, load: () => import("./secrets/detail") },
  { path: "/s3", title: "Buckets", section: "S3", load: () => import("./s3/buckets") },
  { path: "/s3/:bucket", title: "Bucket", section: "S3", nav: false, load: () => import("./s3/bucket") },
  { path: "/iam/users", title: "Users", section: "IAM", load: () => import("./iam/users") },
  { path: "/iam/users/:name", title: "User", section: "IAM", nav: false, load: () => import("./iam/user") },
  { path: "/iam/groups", title: "User groups", section: "IAM", load: () => import("./iam/groups") },
  { path: "/iam/groups/:name", title: "User group", section: "IAM", nav: false, load: () => import("./iam/group") },
  { path: "/iam/roles", title: "Roles", section: "IAM", load: () => import("./iam/roles") },
  { path: "/iam/roles/:name", title: "Role", section: "IAM", nav: false, load: () => import("./iam/role") },
  { path: "/iam/policies", title: "Policies", section: "IAM", load: () => import("./iam/policies") },
  { path: "/events", title: "Event history", section: "CloudTrail", load: () => import("./events/history") },
];
