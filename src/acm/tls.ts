/**
 * keyhold's own HTTPS served with an ACM certificate of its own account (--tls-certificate-arn).
 * When the certificate is renewed or re-imported the listener switches to it with
 * tls.Server#setSecureContext: connections already open keep their session, new handshakes get
 * the new certificate, nothing restarts. This process hears of changes it made at once (ACM's
 * change listeners) and of changes another node or worker made by looking every interval.
 * The private key is unwrapped into memory only, never written to disk.
 */
import type { Server as TlsServer } from "node:tls";
import { ConfigError } from "../config.js";
import type { TlsIdentity } from "../http/server.js";
import { AcmService } from "./service.js";

export class AcmTls {
  private server: TlsServer | undefined;
  /** The keyRef of the key being served: a change of it is a new certificate to switch to. */
  private served: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly id: string;

  constructor(
    private readonly acm: AcmService,
    private readonly arn: string,
    accountId: string,
    region: string,
    private readonly log: (message: string) => void,
    /** How the certificate was chosen, for messages and InUseBy. */
    private readonly origin = "--tls-certificate-arn",
  ) {
    const parsed = AcmService.parseArn(arn);
    if (parsed.accountId !== accountId || parsed.region !== region)
      throw new ConfigError(`${origin} must name a certificate of keyhold's own account ${accountId} in ${region}`);
    this.id = parsed.id;
    this.accountId = accountId;
    this.region = region;
    // What uses the certificate: DescribeCertificate's InUseBy; DeleteCertificate refuses while it does.
    acm.inUseBy = (a) => (a === this.arn ? [`keyhold HTTPS listener (${origin})`] : []);
  }

  private readonly accountId: string;
  private readonly region: string;

  /** The certificate (with its chain) and key to serve now; a start with a certificate that cannot be served stops. */
  async identity(): Promise<TlsIdentity & { keyRef: string }> {
    const cert = await this.acm.load(this.accountId, this.region, this.id);
    if (!cert) throw new ConfigError(`${this.origin}: no certificate ${this.arn} in account ${this.accountId}`);
    const body = cert.body;
    if (body.status !== "ISSUED" || !body.certificatePem || !body.keyRef)
      throw new ConfigError(`${this.origin}: certificate ${this.arn} is ${body.status}, not issued`);
    const key = this.acm.privateKey(body).export({ type: "pkcs8", format: "pem" }) as string;
    this.served = body.keyRef;
    return { cert: body.certificatePem + (body.chainPem ?? ""), key, keyRef: body.keyRef };
  }

  /** Follows the certificate on `server`: at once on this process's changes, and every `intervalMs`. */
  serve(server: TlsServer, intervalMs: number): void {
    this.server = server;
    this.unsubscribe = this.acm.onChange((arn) => {
      if (arn === this.arn) void this.refresh();
    });
    this.timer = setInterval(() => void this.refresh(), Math.min(intervalMs, 60_000));
    this.timer.unref();
  }

  /** Switches to the stored certificate if it is not the one served; a failure keeps the old one and is logged. */
  async refresh(): Promise<boolean> {
    if (!this.server) return false;
    try {
      const cert = await this.acm.load(this.accountId, this.region, this.id);
      const body = cert?.body;
      if (!body || body.status !== "ISSUED" || !body.keyRef || body.keyRef === this.served) return false;
      const next = await this.identity();
      this.server.setSecureContext({ cert: next.cert, key: next.key });
      this.log(`HTTPS now serves certificate ${this.arn} serial ${body.facts?.serial ?? "?"}`);
      return true;
    } catch (error) {
      this.log(
        `switching HTTPS to the new certificate ${this.arn} failed, still serving the old one: ${(error as Error)?.message ?? String(error)}`,
      );
      return false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }
}
