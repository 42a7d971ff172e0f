/** Who is calling and where: what every service operation receives besides its input. */
export interface CallContext {
  accountId: string;
  /** The region of the request's SigV4 credential scope; resources live per region. */
  region: string;
  accessKeyId: string;
  principalArn: string;
  requestId: string;
}
