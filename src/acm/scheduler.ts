/**
 * ACM's managed renewal: a private certificate ACM issued is renewed when it comes within 60 days
 * of expiry (AWS's window), keeping its ARN. Run like the other schedulers, by the process that
 * holds the scheduler lease; `tick` is what the timer calls and what tests call after moving an
 * injected clock. Each renewal is recorded as the AWS service event RenewCertificate.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import type { AcmService, Certificate } from "./service.js";
import { PeriodicPass } from "../periodic.js";

export interface RenewalEvent {
  arn: string;
  accountId: string;
  region: string;
  ok: boolean;
  reason?: string;
}

export class AcmScheduler extends PeriodicPass<string[]> {
  /** Passes begun and certificates renewed since this process started (the metrics read them). */
  readonly done = { runs: 0, renewals: 0 };

  constructor(
    private readonly acm: AcmService,
    private readonly log: (message: string) => void = () => {},
    private readonly record: (event: RenewalEvent) => void = () => {},
  ) {
    super("acm scheduler", log);
  }

  protected async pass(): Promise<string[]> {
    this.done.runs++;
    if (!(await this.acm.repo.schedulerLease())) return [];
    const renewed: string[] = [];
    const now = this.acm.clock.now();
    for (const cert of await this.acm.managed()) {
      if (!this.acm.dueForRenewal(cert.body, now)) continue;
      try {
        await this.acm.renew(serviceCall(cert, now), cert);
      } catch (error) {
        this.log(`renewing certificate ${cert.body.arn} failed: ${(error as Error)?.message ?? String(error)}`);
        continue;
      }
      const ok = cert.body.renewal?.status === "SUCCESS";
      this.record({ arn: cert.body.arn, accountId: cert.accountId, region: cert.body.region, ok, reason: cert.body.renewal?.reason });
      if (ok) {
        renewed.push(cert.body.arn);
        this.done.renewals++;
        this.log(`renewed certificate ${cert.body.arn}`);
      } else this.log(`renewing certificate ${cert.body.arn} failed: ${cert.body.renewal?.reason ?? "unknown"}`);
    }
    return renewed;
  }
}

/** The call ACM makes to the private CA for a renewal: the service acting in the certificate's account. */
function serviceCall(cert: Certificate, now: number): CallContext {
  return {
    accountId: cert.accountId,
    region: cert.body.region,
    accessKeyId: "",
    principal: { type: "AWSService", accountId: cert.accountId, arn: "acm.amazonaws.com", principalId: "acm.amazonaws.com" },
    time: now,
    secureTransport: true,
    viaService: "acm.amazonaws.com",
    requestId: randomUUID(),
    action: "acm-pca:IssueCertificate",
    trail: { resources: [] },
  };
}
