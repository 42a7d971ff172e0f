/** Resource policies of secrets: compiled by the shared policy engine, and checked for public access. */
import { ServiceError } from "../errors.js";
import { compilePolicy, PolicySyntaxError, type CompiledPolicy } from "../iam/policy.js";
import { firstUnknownPrincipal } from "../iam/principal-check.js";
import type { Repository } from "../store/repository.js";

/** A secret's resource policy, or MalformedPolicyDocumentException with the engine's reason. */
export function checkResourcePolicy(text: string): CompiledPolicy {
  try {
    return compilePolicy(text, "resource");
  } catch (error) {
    if (error instanceof PolicySyntaxError || error instanceof ServiceError) {
      throw new ServiceError("MalformedPolicyDocumentException", `This resource policy contains a syntax error: ${error.message}`);
    }
    throw error;
  }
}

/**
 * A policy naming a user, role or account that does not exist is refused, as AWS refuses it: AWS
 * keeps the principal's unique id, so such a policy would otherwise grant access to whoever is
 * later made under that name.
 */
export async function checkPrincipals(policy: CompiledPolicy, repo: Repository): Promise<void> {
  const unknown = await firstUnknownPrincipal(policy, repo);
  if (unknown !== undefined) {
    throw new ServiceError("MalformedPolicyDocumentException", `This resource policy contains an unsupported principal: ${unknown}`);
  }
}

/**
 * Whether a policy lets anyone in: an Allow statement whose principal is everyone ("*" or
 * {"AWS": "*"}) with no condition that narrows it. BlockPublicPolicy refuses such a policy, as
 * Secrets Manager does, so that a secret is never made readable by every AWS account by mistake.
 */
export function publicStatement(text: string): boolean {
  const doc = JSON.parse(text) as { Statement?: unknown };
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as {
    Effect?: unknown;
    Principal?: unknown;
    Condition?: unknown;
  }[];
  return statements.some((s) => {
    if (s === null || typeof s !== "object" || s.Effect !== "Allow") return false;
    const p = s.Principal;
    const everyone =
      p === "*" ||
      (p !== null &&
        typeof p === "object" &&
        Object.values(p as Record<string, unknown>).some((v) => v === "*" || (Array.isArray(v) && v.includes("*"))));
    const narrowed = s.Condition !== undefined && s.Condition !== null && Object.keys(s.Condition as object).length > 0;
    return everyone && !narrowed;
  });
}
