/** Who is calling and where: what every service operation receives besides its input. */
export interface CallContext {
  accountId: string;
  /** The region of the request's SigV4 credential scope; resources live per region. */
  region: string;
  accessKeyId: string;
  principalArn: string;
  requestId: string;
  /** What the operation tells the audit trail about this call. */
  trail: CallTrail;
}

export interface CallTrail {
  /** The decoded input, set once it passed validation; the audit redacts it. */
  input?: unknown;
  /** ARNs of the resources the call acted on, with their CloudTrail resource type. */
  resources: { arn: string; type: string }[];
}
