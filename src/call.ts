import type { Principal } from "./iam/principal.js";

/** Who is calling and where: what every service operation receives besides its input. */
export interface CallContext {
  /** The caller's account. */
  accountId: string;
  /** The region of the request's SigV4 credential scope; resources live per region. */
  region: string;
  accessKeyId: string;
  principal: Principal;
  /** A role session's session policies, which bound what its identity policies give. */
  sessionPolicies?: readonly string[];
  /** When the request arrived (ms), its peer address, and whether it came over TLS: aws:* condition keys. */
  time: number;
  sourceIp?: string;
  secureTransport: boolean;
  /** Set when another keyhold service (s3) calls KMS on the caller's behalf: kms:ViaService. */
  viaService?: string;
  /**
   * A service principal's call for a resource of a customer's (CloudTrail delivering for a trail):
   * aws:SourceArn and aws:SourceAccount, which resource policies name to stop a confused deputy.
   */
  source?: { arn: string; account: string };
  requestId: string;
  /** The IAM action this call is, such as kms:Encrypt. */
  action: string;
  /** What the operation tells the audit trail about this call. */
  trail: CallTrail;
}

export interface CallTrail {
  /** The decoded input, set once it passed validation; the audit redacts it. */
  input?: unknown;
  /** ARNs of the resources the call acted on, with their CloudTrail resource type. */
  resources: { arn: string; type: string }[];
  /** Calls one service made to another on the caller's behalf (S3 to KMS): each is an event of its own. */
  related?: RelatedCall[];
  /**
   * requestParameters members the service applied when the caller left them out: CloudTrail
   * records the encryption algorithm of every Encrypt and Decrypt, SYMMETRIC_DEFAULT when none was named.
   */
  defaults?: Record<string, string>;
  /** CloudTrail's additionalEventData members, such as the keyMaterialId a cryptographic call used. */
  additional?: Record<string, string>;
  /** responseElements members CloudTrail records beyond the answer, such as the keyId of the key a KMS change acted on. */
  answered?: Record<string, string>;
  /**
   * A read-only call whose answer CloudTrail records all the same (AssumeRole: the session's
   * access key id, expiry and assumed-role user), less what is never recorded.
   */
  recordsAnswer?: boolean;
}

export interface RelatedCall {
  /** The service called ("kms") and its operation ("GenerateDataKey"). */
  service: string;
  operation: string;
  /** The service that made the call for the caller: CloudTrail's invokedBy ("s3.amazonaws.com"). */
  invokedBy: string;
  trail: CallTrail;
  error?: { code: string; message: string };
}

export interface CallerIdentity {
  accountId: string;
  accessKeyId: string;
  principal: Principal;
}

/** A call as the protocol adapter saw it, once answered: what the audit trail records. */
export interface CompletedCall {
  requestId: string;
  time: number;
  /** "kms", "cloudtrail", …: the SigV4 signing name. */
  service?: string;
  operation?: string;
  readOnly: boolean;
  region?: string;
  sourceIp?: string;
  userAgent?: string;
  /** Who signed the request, when the signature checked out. */
  caller?: CallerIdentity;
  /** The access key and account a request claimed when its signature did not check out. */
  claimed?: { accessKeyId: string; accountId?: string };
  trail: CallTrail;
  output?: unknown;
  error?: { code: string; message: string };
  /** Set for a call another service made on the caller's behalf. */
  invokedBy?: string;
}
