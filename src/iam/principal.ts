/**
 * Who is calling: an account's root user, an IAM user, or a session of an assumed role. The
 * protocol adapter learns it from the access key that signed the request; policies are matched
 * against it.
 */
export interface Principal {
  /** AWSService: a service acting on its own (CloudTrail delivering to S3), matched by a policy's "Service" principal. */
  type: "Root" | "IAMUser" | "AssumedRole" | "AWSService";
  accountId: string;
  /** The caller's own ARN: the root's, the user's, or the session's (arn:aws:sts::…:assumed-role/R/S). */
  arn: string;
  /** The account id for the root, the user id (AIDA…), or "<role id>:<session name>". */
  principalId: string;
  userName?: string;
  /** For sessions: the role's ARN, which is what policies name (and aws:PrincipalArn). */
  roleArn?: string;
  roleName?: string;
  sessionName?: string;
  /** For sessions: when the credentials were issued (aws:TokenIssueTime). */
  issuedAt?: number;
}

export function rootArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

export function rootPrincipal(accountId: string): Principal {
  return { type: "Root", accountId, arn: rootArn(accountId), principalId: accountId };
}

/** The ARN policies name the caller by: the role's for a session, the caller's own otherwise. */
export function principalArn(p: Principal): string {
  return p.roleArn ?? p.arn;
}
