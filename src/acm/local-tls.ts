/**
 * The HTTPS certificate keyhold makes at first start (--tls-port without --tls-cert or
 * --tls-certificate-arn): a keyhold private CA in keyhold's own account ("keyhold local CA …",
 * ROOT, EC P-256, valid 10 years, tagged keyhold:purpose=local-tls, with the permission for
 * acm.amazonaws.com that managed renewal needs) issues an ACM private
 * certificate (EndEntityServerAuthCertificate) for localhost, *.localhost, *.s3.localhost,
 * 127.0.0.1, ::1 and the host keyhold listens on. keyhold then serves that certificate exactly as
 * one named by --tls-certificate-arn: ACM's managed renewal renews it and the listener switches
 * without a restart. The CA's certificate is written to <data-dir>/tls/ca.pem (what clients
 * trust: `aws --ca-bundle`), the same PEM GetCertificateAuthorityCertificate answers; the
 * certificate's ARN to <data-dir>/tls/certificate-arn. The server's private key is kept only
 * wrapped in the database, as every ACM key. docs/acm.md.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { rootPrincipal } from "../iam/principal.js";
import type { ServiceAction } from "../audit/record.js";
import { ACMPCA_OPERATIONS_BY_NAME } from "../acmpca/registry.js";
import { CA_RESOURCE_TYPE, toPemString, type AcmPcaService } from "../acmpca/service.js";
import { AcmService, CERTIFICATE_RESOURCE_TYPE, type CertificateBody } from "./service.js";

/** The tag that marks the CA keyhold made for its own HTTPS: a later first start (another node's) reuses it. */
export const LOCAL_CA_TAG = { Key: "keyhold:purpose", Value: "local-tls" };
const CA_YEARS = 10;
const SERVER_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1";
/** A CA that ends sooner than this cannot issue (or renew) a 395-day server certificate; a new one is made. */
const CA_MARGIN_MS = 400 * 86_400_000;

export interface LocalTlsDeps {
  pca: AcmPcaService;
  acm: AcmService;
  accountId: string;
  region: string;
  clock: Clock;
  log: (message: string) => void;
  /** Records what keyhold did by itself (CreateCertificateAuthority, RequestCertificate) in the audit trail. */
  record?: (event: ServiceAction) => void;
}

export interface LocalTls {
  /** The ACM certificate keyhold serves. */
  certificateArn: string;
  /** The CA certificate clients trust (<data-dir>/tls/ca.pem). */
  caFile: string;
  /** The private CA that issued it. */
  certificateAuthorityArn: string;
}

export function localTlsFiles(dataDir: string): { dir: string; caFile: string; arnFile: string; legacyCert: string; legacyKey: string } {
  const dir = join(dataDir, "tls");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    arnFile: join(dir, "certificate-arn"),
    legacyCert: join(dir, "server.pem"),
    legacyKey: join(dir, "server.key"),
  };
}

/**
 * Whether the data directory holds the certificate files keyhold made before it made them from a
 * private CA (server.pem, server.key): such a directory keeps serving them.
 */
export function hasLegacyTls(dataDir: string): boolean {
  const f = localTlsFiles(dataDir);
  return !existsSync(f.arnFile) && existsSync(f.legacyCert) && existsSync(f.legacyKey);
}

/**
 * The certificate keyhold serves when it makes its own: the one recorded in the data directory
 * if it is still there and issued, else a new one (from the local CA if it is active and has
 * time left, else from a new local CA).
 */
export async function ensureLocalTls(dataDir: string, host: string, deps: LocalTlsDeps): Promise<LocalTls> {
  const files = localTlsFiles(dataDir);
  if (existsSync(files.arnFile) && existsSync(files.caFile)) {
    const arn = readFileSync(files.arnFile, "utf8").trim();
    const kept = await usable(arn, deps);
    if (kept) return { certificateArn: arn, caFile: files.caFile, certificateAuthorityArn: kept };
    deps.log(`the HTTPS certificate ${arn} recorded in ${files.arnFile} is gone or not issued: keyhold makes a new one`);
  }
  const ca = (await findLocalCa(deps)) ?? (await createLocalCa(deps));
  const certificateArn = await requestServerCertificate(ca.arn, host, deps);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  writeAtomically(files.caFile, ca.pem, 0o644);
  // The ARN last: its presence says the set is complete.
  writeAtomically(files.arnFile, certificateArn + "\n", 0o644);
  deps.log(`HTTPS certificate ${certificateArn} issued by the keyhold local CA ${ca.arn}; clients trust ${files.caFile}`);
  return { certificateArn, caFile: files.caFile, certificateAuthorityArn: ca.arn };
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** The certificate's CA ARN if the certificate is still keyhold's, issued, and its CA's certificate is still the one clients trust. */
async function usable(arn: string, deps: LocalTlsDeps): Promise<string | undefined> {
  let parsed;
  try {
    parsed = AcmService.parseArn(arn);
  } catch {
    return undefined;
  }
  if (parsed.accountId !== deps.accountId || parsed.region !== deps.region) return undefined;
  const cert = await deps.acm.load(parsed.accountId, parsed.region, parsed.id);
  if (!cert || cert.body.status !== "ISSUED" || !cert.body.certificateAuthorityArn) return undefined;
  return cert.body.certificateAuthorityArn;
}

/** The call keyhold makes in its own account for its HTTPS certificate: as the account's root. */
function ownCall(deps: LocalTlsDeps, action: string): CallContext {
  return {
    accountId: deps.accountId,
    region: deps.region,
    accessKeyId: "",
    principal: rootPrincipal(deps.accountId),
    time: deps.clock.now(),
    secureTransport: true,
    requestId: randomUUID(),
    action,
    trail: { resources: [] },
  };
}

async function pcaOperation(deps: LocalTlsDeps, name: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const op = ACMPCA_OPERATIONS_BY_NAME.get(name)!;
  return (await op.handle(deps.pca, ownCall(deps, `acm-pca:${name}`), input)) as Record<string, unknown>;
}

/** An active local CA of the account (tagged), with time left to issue a server certificate. */
async function findLocalCa(deps: LocalTlsDeps): Promise<{ arn: string; pem: string } | undefined> {
  const now = deps.clock.now();
  let after: string | undefined;
  for (;;) {
    const page = await deps.pca.list(deps.accountId, after, 1000);
    for (const ca of page.items) {
      const b = ca.body;
      if (b.region !== deps.region || !b.certificate || deps.pca.status(b) !== "ACTIVE") continue;
      if (!b.tags.some((t) => t.Key === LOCAL_CA_TAG.Key && t.Value === LOCAL_CA_TAG.Value)) continue;
      if ((b.notAfter ?? 0) - CA_MARGIN_MS <= now) continue;
      return { arn: b.arn, pem: toPemString(Buffer.from(b.certificate, "base64")) };
    }
    if (!page.next) return undefined;
    after = page.next;
  }
}

/** Makes the local root CA through the ACM PCA operations, as a user would: create, sign its own CSR, import. */
async function createLocalCa(deps: LocalTlsDeps): Promise<{ arn: string; pem: string }> {
  const created = await pcaOperation(deps, "CreateCertificateAuthority", {
    CertificateAuthorityType: "ROOT",
    CertificateAuthorityConfiguration: {
      KeyAlgorithm: "EC_prime256v1",
      SigningAlgorithm: "SHA256WITHECDSA",
      Subject: { Organization: "keyhold", CommonName: `keyhold local CA ${randomBytes(4).toString("hex")}` },
    },
    Tags: [LOCAL_CA_TAG],
  });
  const arn = created.CertificateAuthorityArn as string;
  const { Csr } = await pcaOperation(deps, "GetCertificateAuthorityCsr", { CertificateAuthorityArn: arn });
  const issued = await pcaOperation(deps, "IssueCertificate", {
    CertificateAuthorityArn: arn,
    Csr: Buffer.from(Csr as string).toString("base64"),
    SigningAlgorithm: "SHA256WITHECDSA",
    TemplateArn: "arn:aws:acm-pca:::template/RootCACertificate/V1",
    Validity: { Type: "YEARS", Value: CA_YEARS },
  });
  const { Certificate } = await pcaOperation(deps, "GetCertificate", {
    CertificateAuthorityArn: arn,
    CertificateArn: issued.CertificateArn,
  });
  await pcaOperation(deps, "ImportCertificateAuthorityCertificate", {
    CertificateAuthorityArn: arn,
    Certificate: Buffer.from(Certificate as string).toString("base64"),
  });
  // ACM's managed renewal issues as acm.amazonaws.com, which needs the CA's permission, as on AWS.
  await pcaOperation(deps, "CreatePermission", {
    CertificateAuthorityArn: arn,
    Principal: "acm.amazonaws.com",
    Actions: ["IssueCertificate", "GetCertificate", "ListPermissions"],
  });
  deps.record?.({
    time: deps.clock.now(),
    eventSource: "acm-pca.amazonaws.com",
    eventName: "CreateCertificateAuthority",
    accountId: deps.accountId,
    region: deps.region,
    resource: { arn, type: CA_RESOURCE_TYPE },
    details: { purpose: "keyhold HTTPS (local CA made at first start)" },
  });
  deps.log(`made the keyhold local CA ${arn} for keyhold's own HTTPS`);
  return { arn, pem: (Certificate as string).trimEnd() + "\n" };
}

/** Requests the server certificate from the CA through ACM (so ACM renews it): EC P-256, the names keyhold answers to. */
async function requestServerCertificate(caArn: string, host: string, deps: LocalTlsDeps): Promise<string> {
  const { dns, ips } = serverNames(host);
  const call = ownCall(deps, "acm:RequestCertificate");
  const body: CertificateBody = {
    arn: deps.acm.newArn(call),
    region: deps.region,
    type: "PRIVATE",
    status: "PENDING_VALIDATION",
    keyAlgorithm: "EC_prime256v1",
    createdAt: deps.clock.now(),
    tags: [LOCAL_CA_TAG],
    certificateAuthorityArn: caArn,
    requested: { domainName: dns[0]!, subjectAlternativeNames: dns, ipAddresses: ips },
    templateArn: SERVER_TEMPLATE,
    options: { CertificateTransparencyLoggingPreference: "DISABLED", Export: "ENABLED" },
  };
  const issued = await deps.acm.issue(call, body);
  if (issued.status !== "ISSUED")
    throw new Error(`the keyhold local CA ${caArn} did not issue the HTTPS certificate: ${issued.failureReason}`);
  await deps.acm.create(call, { ...body, ...issued });
  deps.record?.({
    time: deps.clock.now(),
    eventSource: "acm.amazonaws.com",
    eventName: "RequestCertificate",
    accountId: deps.accountId,
    region: deps.region,
    resource: { arn: body.arn, type: CERTIFICATE_RESOURCE_TYPE },
    details: { purpose: "keyhold HTTPS (made at first start)", certificateAuthorityArn: caArn },
  });
  return body.arn;
}

/** The names keyhold's HTTPS certificate covers: localhost (and virtual-host buckets), the loopback addresses, the listen host. */
export function serverNames(host: string): { dns: string[]; ips: string[] } {
  const dns = ["localhost", "*.localhost", "*.s3.localhost"];
  const ips = ["127.0.0.1", "::1"];
  if (host !== "0.0.0.0" && host !== "::") {
    const bare = host.replace(/^\[|\]$/g, "");
    if (isIP(bare)) {
      if (!ips.includes(bare)) ips.push(bare);
    } else if (!dns.includes(bare.toLowerCase())) dns.push(bare.toLowerCase());
  }
  return { dns, ips };
}
