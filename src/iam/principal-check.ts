/**
 * AWS refuses a resource or trust policy that names an IAM principal which does not exist: a
 * key policy, a bucket policy or a role's trust policy naming a deleted user, a role not created
 * yet or an unknown account is malformed ("invalid principals"), where an emulator would store it
 * and a later request would meet a policy that silently grants nothing; likewise a KMS grant to a
 * principal that does not exist. Checked when the policy or grant is written; a principal deleted
 * afterwards simply stops matching.
 */
import type { Repository } from "../store/repository.js";
import { Directory } from "./directory.js";
import type { CompiledPolicy } from "./policy.js";

const ACCOUNT = /^\d{12}$/;
const IAM_ARN = /^arn:aws:iam::(\d{12}):(root|user\/.+|role\/.+)$/;
const SESSION_ARN = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/** The account of an AWS principal (an account id, or an account's root, user, role or role session ARN); undefined for anything else. */
export function principalAccount(principal: string): string | undefined {
  if (ACCOUNT.test(principal)) return principal;
  return (SESSION_ARN.exec(principal) ?? IAM_ARN.exec(principal))?.[1];
}

/** The first AWS principal of the policy that names no existing account, user or role, if any. */
export async function firstUnknownPrincipal(policy: CompiledPolicy, repo: Repository): Promise<string | undefined> {
  const directory = new Directory(repo);
  const seen = new Set<string>();
  for (const statement of policy.statements) {
    for (const principal of statement.principals ?? []) {
      // "*", and the Service, Federated and CanonicalUser forms (kept as "<type>:<value>"), name no IAM entity here.
      if (principal === "*" || seen.has(principal) || /^(service|federated|canonicaluser):/.test(principal)) continue;
      seen.add(principal);
      if (!(await principalExists(principal, repo, directory))) return principal;
    }
  }
  return undefined;
}

/** Whether an AWS principal (an account id, or an account's root, user, role or role session ARN) names what keyhold has. */
export async function principalExists(principal: string, repo: Repository, directory = new Directory(repo)): Promise<boolean> {
  if (ACCOUNT.test(principal)) return (await repo.getAccount(principal)) !== undefined;
  if (/[*?]/.test(principal)) return false; // AWS takes no wildcard inside a principal's ARN
  const session = SESSION_ARN.exec(principal);
  if (session) return (await directory.get("iam-role", session[1]!, session[2]!)) !== undefined;
  const iam = IAM_ARN.exec(principal);
  if (!iam) return false;
  const [, accountId, resource] = iam as unknown as [string, string, string];
  if ((await repo.getAccount(accountId)) === undefined) return false;
  if (resource === "root") return true;
  const kind = resource.startsWith("user/") ? "iam-user" : "iam-role";
  const entity = await directory.get(kind, accountId, resource.slice(resource.lastIndexOf("/") + 1));
  return entity !== undefined && entity.body.arn === principal;
}
