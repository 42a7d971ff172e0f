/**
 * Wires keyhold together: repository → key store → identities → KMS → JSON protocol → HTTP.
 * `startKeyhold` is what `keyhold server` runs and what tests start in-process.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Server as TlsServer } from "node:tls";
import { systemClock, type Clock } from "./clock.js";
import { ConfigError, type Config } from "./config.js";
import { Credentials, generateAccessKeyId, generateSecretAccessKey } from "./iam/credentials.js";
import { Directory } from "./iam/directory.js";
import { Authorizer } from "./iam/authorizer.js";
import { JsonProtocol, type JsonService } from "./http/json-protocol.js";
import { QueryProtocol, type QueryService } from "./http/query-protocol.js";
import { Dispatcher, type AnsweredCall } from "./http/dispatch.js";
import { IamService } from "./iam/service.js";
import { IAM_OPERATIONS_BY_NAME, IAM_VERSION, IAM_XML_NAMESPACE } from "./iam/registry.js";
import { StsService } from "./sts/service.js";
import { OrganizationsService } from "./organizations/service.js";
import { ORGANIZATIONS_OPERATIONS_BY_NAME, ORGANIZATIONS_TARGET_PREFIX } from "./organizations/registry.js";
import { ServiceError } from "./errors.js";
import { STS_OPERATIONS_BY_NAME, STS_VERSION, STS_XML_NAMESPACE } from "./sts/registry.js";
import {
  createHttpServer,
  DEFAULT_LIMITS,
  drainServer,
  type ConnectionLimits,
  type RequestHandler,
  type ServerAnswered,
  type StreamPredicate,
} from "./http/server.js";
import { loadTls, type TlsFiles } from "./http/tls.js";
import { isS3Request, RestXmlProtocol } from "./http/rest-xml-protocol.js";
import { S3Service } from "./s3/service.js";
import { FileObjectStore } from "./s3/object-store.js";
import { S3_OPERATIONS_BY_NAME, S3_ROUTES, S3_XML_NAMESPACE } from "./s3/registry.js";
import { SoftwareKeyStore } from "./keystore/software.js";
import { openRootOfTrust } from "./keystore/root-of-trust.js";
import { KMS_OPERATIONS_BY_NAME, KMS_UNSERVED } from "./kms/registry.js";
import { KmsScheduler } from "./kms/scheduler.js";
import { KEY_RESOURCE_TYPE, KmsService } from "./kms/service.js";
import { CustomKeyStores } from "./kms/custom-key-stores/stores.js";
import { CLOUDHSMV2_TARGET_PREFIX, CLOUDHSMV2_OPERATIONS_BY_NAME } from "./cloudhsmv2/registry.js";
import { configuredLogger, consoleLogger, type Logger } from "./log.js";
import { prepareDataDir, restrictUmask } from "./data-dir.js";
import type { Repository } from "./store/repository.js";
import { SqliteRepository } from "./store/sqlite.js";
import { PostgresRepository } from "./store/postgres.js";
import { CachedRepository } from "./store/cached.js";
import { Audit } from "./audit/audit.js";
import { auditChainId, openAuditStore } from "./audit/open.js";
import { CLOUDTRAIL_OPERATIONS_BY_NAME, CLOUDTRAIL_TARGET_PREFIXES } from "./cloudtrail/registry.js";
import { CloudTrailService, trailResource } from "./cloudtrail/service.js";
import { TrailDelivery } from "./cloudtrail/delivery.js";
import { RemoteS3 } from "./cloudtrail/remote-s3.js";
import { SECRET_RESOURCE_TYPE, SecretsManagerService } from "./secretsmanager/service.js";
import { RotationRunner } from "./secretsmanager/rotation/runner.js";
import { Replicator } from "./secretsmanager/replication.js";
import { RotationFunctions } from "./secretsmanager/rotation/functions.js";
import { SecretsScheduler } from "./secretsmanager/scheduler.js";
import { SECRETSMANAGER_OPERATIONS_BY_NAME, SECRETSMANAGER_TARGET_PREFIX, SECRETSMANAGER_UNSERVED } from "./secretsmanager/registry.js";
import { servedRegions } from "./regions.js";
import { AcmPcaService } from "./acmpca/service.js";
import { HsmCaKeys } from "./acmpca/hsm-keys.js";
import { AcmPcaIssuer } from "./acmpca/issuer.js";
import { CrlPublisher } from "./acmpca/crl.js";
import { AcmPcaScheduler } from "./acmpca/scheduler.js";
import { ACMPCA_OPERATIONS_BY_NAME, ACMPCA_SIGNING_NAME, ACMPCA_TARGET_PREFIX, ACMPCA_UNSERVED } from "./acmpca/registry.js";
import { answerProbe, isProbe, type ReadinessCheck } from "./http/probes.js";
import { ConsoleFiles, isConsoleRequest } from "./http/console.js";
import { answerSignIn, SIGNIN_PATH } from "./http/console-signin.js";
import { ConsoleSignIn } from "./iam/signin.js";
import { SignInThrottle } from "./iam/signin-throttle.js";
import { isOcspRequest, ocspHandler } from "./http/ocsp-route.js";
import { requestLogEntry } from "./http/request-log.js";
import { Metrics } from "./metrics/metrics.js";
import { startMetricsListener, type MetricsListener } from "./metrics/listener.js";
import { AcmService, CERTIFICATE_RESOURCE_TYPE } from "./acm/service.js";
import { ACM_OPERATIONS_BY_NAME, ACM_TARGET_PREFIX, ACM_UNSERVED } from "./acm/registry.js";
import { AcmScheduler } from "./acm/scheduler.js";
import type { PrivateCertificateIssuer } from "./acm/issuer.js";
import { AcmTls } from "./acm/tls.js";
import { ensureLocalTls, hasLegacyTls, type LocalTlsDeps } from "./acm/local-tls.js";

export interface Keyhold {
  url: string;
  port: number;
  s3: S3Service;
  /** The HTTPS endpoint, when --tls-port is set, and the CA file to trust when keyhold made its certificate. */
  tlsUrl?: string;
  tlsPort?: number;
  caFile?: string;
  kms: KmsService;
  repo: Repository;
  scheduler: KmsScheduler;
  secretsManager: SecretsManagerService;
  /** Purges secrets at the end of their recovery window. */
  secretsScheduler: SecretsScheduler;
  /** ACM Private CA, and what ACM and the OCSP responder use of it. */
  acmPca: AcmPcaService;
  acmPcaIssuer: AcmPcaIssuer;
  /** Refreshes CRLs before they expire and deletes CAs at the end of their restoration period. */
  acmPcaScheduler: AcmPcaScheduler;
  acm: AcmService;
  /** Renews ACM's private certificates before they expire. */
  acmScheduler: AcmScheduler;
  audit: Audit;
  /** CloudTrail trails' delivery of log and digest files to S3; `tick` delivers now. */
  trails: TrailDelivery;
  /** Set when this start initialized the data directory with generated root credentials. */
  generatedRootCredentials?: GeneratedCredentials;
  /** This process's metrics, when --metrics-port is set; the listener's URL when this process serves it. */
  metrics?: Metrics;
  metricsUrl?: string;
  /** What /_keyhold/readyz (and the metrics listener's /readyz) checks. */
  readiness: Record<string, ReadinessCheck>;
  /** Stops being ready (/_keyhold/readyz answers 503) while still serving: a balancer drains the node. close() does this first. */
  drain(): void;
  /**
   * The graceful stop (SIGTERM): not ready, no new connections, requests in flight answered (for
   * at most `timeoutMs`, default --shutdown-timeout), then the schedulers stop, the audit trail
   * is synced and digested, and the database closes.
   */
  close(timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Print the generated root credentials to stdout (the CLI does; tests read them from the result). */
  printCredentials?: boolean;
  /** Run the background scheduler here (exactly one worker process does). Default true. */
  scheduler?: boolean;
  /** This process's audit chain: its worker number (default 1). */
  auditChain?: number;
  /** Serve the metrics listener when --metrics-port is set (default true; a cluster's primary serves it for its workers). */
  metricsListener?: boolean;
  /** Issues ACM's private certificates (keyhold's private CA; tests may give their own). */
  certificateIssuer?: PrivateCertificateIssuer;
}

const ORPHAN_AGE_MS = 3_600_000;

export type GeneratedCredentials = { accessKeyId: string; secretAccessKey: string };

export async function openStorage(config: Config, log: Logger = consoleLogger(), options: { keepHsmToken?: boolean } = {}) {
  restrictUmask();
  // The root of trust first: an HSM that cannot be opened stops the start before anything exists.
  const root = await openRootOfTrust(config);
  let keystore: SoftwareKeyStore;
  let repo: CachedRepository;
  let keep = false;
  let backend: PostgresRepository | SqliteRepository;
  try {
    prepareDataDir(config.dataDir, config.allowOpenDataDir === true, log);
    backend = config.databaseUrl
      ? await PostgresRepository.open(config.databaseUrl)
      : new SqliteRepository(join(config.dataDir, "keyhold.db"));
    repo = new CachedRepository(backend, config.recordCacheSize);
    try {
      keystore = await SoftwareKeyStore.open(repo, root.source);
    } catch (error) {
      await repo.close();
      throw error;
    }
    keep = options.keepHsmToken === true && root.source.kind === "pkcs11";
  } finally {
    // The token unseals the root key; a server keeps it open for private CA keys (docs/private-ca.md).
    if (!keep) await root.close();
  }
  const hsmToken = keep && root.source.kind === "pkcs11" ? root.source.token : undefined;
  const directory = new Directory(repo);
  return { repo, backend, keystore, directory, credentials: new Credentials(repo, keystore, directory), hsmToken };
}

/**
 * Runs the migrations, unseals (or creates) the root key and makes the first account on first
 * start. The primary of `--workers N` calls this once before forking, so workers never race it.
 */
export async function initializeDataDir(config: Config, options: StartOptions = {}): Promise<GeneratedCredentials | undefined> {
  const { repo, keystore, credentials, directory } = await openStorage(config, options.log ?? consoleLogger());
  const clock = options.clock ?? systemClock;
  try {
    // The audit signing key is made here too, so that workers starting together find one.
    const auditStore = await openAuditStore(config);
    try {
      await auditStore.signingKey(keystore, clock.now());
    } finally {
      await auditStore.close();
    }
    // So is the HTTPS certificate, if keyhold is to make one (its first account must exist first).
    let generated: GeneratedCredentials | undefined;
    if (!(await repo.getAccount(config.accountId)))
      generated = await initialize(config, repo, credentials, clock, options.log ?? consoleLogger());
    if (makesOwnTls(config)) {
      const authorizer = new Authorizer(directory);
      const pca = new AcmPcaService({ repo, keystore, authorizer, clock });
      const acm = new AcmService({ repo, keystore, authorizer, clock, issuer: new AcmPcaIssuer(pca) });
      const log = options.log ?? consoleLogger();
      // Made before the workers start; recorded in the log here (the workers' audit trails are not open yet).
      await ensureLocalTls(config.dataDir, config.host, {
        pca,
        acm,
        accountId: config.accountId,
        region: config.region,
        clock,
        log: (m) => log.info(m),
      });
    }
    return generated;
  } finally {
    await repo.close();
    keystore.close();
  }
}

/** Whether keyhold serves HTTPS with a certificate of its own local CA: --tls-port with no certificate named and no files of an earlier keyhold. */
function makesOwnTls(config: Config): boolean {
  return (
    config.tlsPort !== undefined &&
    config.tlsCertificateArn === undefined &&
    config.tlsCert === undefined &&
    config.tlsKey === undefined &&
    !hasLegacyTls(config.dataDir)
  );
}

export async function startKeyhold(config: Config, options: StartOptions = {}): Promise<Keyhold> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? configuredLogger(config);
  const { repo, backend, keystore, directory, credentials, hsmToken } = await openStorage(config, log, { keepHsmToken: true });
  // Set once everything it reads exists (below); the audit and the dispatcher tell it from then on.
  let metrics: Metrics | undefined;
  const authorizer = new Authorizer(directory);

  let generated: Keyhold["generatedRootCredentials"];
  if (!(await repo.getAccount(config.accountId))) {
    generated = await initialize(config, repo, credentials, clock, log);
  } else if (config.rootAccessKeyId !== undefined && !(await repo.getAccessKey(config.rootAccessKeyId))) {
    // The root credentials are set at initialization only; say so rather than ignore them silently.
    log.error(
      `KEYHOLD_ROOT_ACCESS_KEY_ID ${config.rootAccessKeyId} is not an access key of this data directory; root credentials are set at initialization only`,
    );
  }

  const chain = auditChainId(config, options.auditChain ?? 1);
  const auditStore = await openAuditStore(config, chain, log);
  try {
    await auditStore.start(clock.now());
  } catch (error) {
    // Refused (its chain is another process's): nothing stays open.
    await auditStore.close();
    await repo.close();
    keystore.close();
    throw error;
  }
  const audit = await Audit.open({
    store: auditStore,
    chain,
    keystore,
    clock,
    log,
    digestIntervalMs: config.auditDigestIntervalMs,
    retentionDays: config.auditRetentionDays,
    onBatch: (events, seconds, ok) => metrics?.auditBatchDone(events, seconds, ok),
  });
  // Custom key stores (issue 20): sessions on HSM clusters' tokens; tokens that were gone are retried every 5 s.
  const customKeyStores = new CustomKeyStores(repo, keystore, clock, (m) => log.info(m));
  const kms = new KmsService({
    repo,
    keystore,
    clock,
    authorizer,
    usage: audit.store,
    keyCacheSize: config.keyCacheSize,
    customKeyStores,
  });
  const kmsService: JsonService = {
    targetPrefixes: ["TrentService"],
    signingName: "kms",
    internalErrorCode: "KMSInternalException",
    operation: (name) => {
      const op = KMS_OPERATIONS_BY_NAME.get(name);
      return op && { readOnly: op.readOnly, handle: (call, raw) => op.handle(kms, call, raw) };
    },
    unserved: KMS_UNSERVED,
  };
  const cloudTrailService: JsonService = {
    targetPrefixes: CLOUDTRAIL_TARGET_PREFIXES,
    signingName: "cloudtrail",
    internalErrorCode: "InternalFailure",
    operation: (name) => {
      const op = CLOUDTRAIL_OPERATIONS_BY_NAME.get(name);
      return (
        op && {
          readOnly: op.readOnly,
          handle: async (call, raw) => {
            await authorizer.require(call, { action: call.action, resource: trailResource(call, raw) });
            return op.handle(cloudTrail, call, raw);
          },
        }
      );
    },
  };
  // cloudhsmv2's DescribeClusters, read-only: the clusters `keyhold hsm cluster create` registered.
  const cloudHsmService: JsonService = {
    targetPrefixes: [CLOUDHSMV2_TARGET_PREFIX],
    signingName: "cloudhsm",
    internalErrorCode: "CloudHsmInternalFailureException",
    operation: (name) => {
      const op = CLOUDHSMV2_OPERATIONS_BY_NAME.get(name);
      return (
        op && {
          readOnly: op.readOnly,
          handle: async (call, raw) => {
            try {
              return await op.handle(kms, call, raw);
            } catch (error) {
              // CloudHSM names its validation failures CloudHsmInvalidRequestException.
              if (error instanceof ServiceError && error.code === "ValidationException")
                throw new ServiceError("CloudHsmInvalidRequestException", error.message);
              throw error;
            }
          },
        }
      );
    },
  };
  const secretsManager = new SecretsManagerService({ repo, kms, authorizer, clock });
  secretsManager.replicator = new Replicator(secretsManager);
  secretsManager.regions = servedRegions(config.extraRegions);
  const secretsManagerService: JsonService = {
    targetPrefixes: [SECRETSMANAGER_TARGET_PREFIX],
    signingName: "secretsmanager",
    internalErrorCode: "InternalServiceError",
    operation: (name) => {
      const op = SECRETSMANAGER_OPERATIONS_BY_NAME.get(name);
      return op && { readOnly: op.readOnly, handle: (call, raw) => op.handle(secretsManager, call, raw) };
    },
    unserved: SECRETSMANAGER_UNSERVED,
  };
  // Failed console sign-ins (and wrong old passwords given to ChangePassword), counted in this process.
  const signInThrottle = new SignInThrottle(clock);
  const iam = new IamService({ repo, directory, credentials, authorizer, clock, accessKeyUse: audit.store, signInThrottle });
  let consoleUrl = "/console/";
  const signIn = new ConsoleSignIn({
    directory,
    credentials,
    clock,
    throttle: signInThrottle,
    region: config.region,
    get consoleUrl() {
      return consoleUrl;
    },
    record: (attempt) => audit.consoleLogin(attempt),
  });
  // With an HSM as root of trust, private CA keys of the level 3 standard are generated and used in it (docs/private-ca.md).
  const hsmKeys = hsmToken && new HsmCaKeys(hsmToken);
  const acmPca = new AcmPcaService({ repo, keystore, authorizer, clock, hsmKeys });
  acmPca.log = (m) => log.info(m);
  const acmPcaIssuer = new AcmPcaIssuer(acmPca);
  const acmPcaService: JsonService = {
    targetPrefixes: [ACMPCA_TARGET_PREFIX],
    signingName: ACMPCA_SIGNING_NAME,
    internalErrorCode: "InternalFailure",
    operation: (name) => {
      const op = ACMPCA_OPERATIONS_BY_NAME.get(name);
      return op && { readOnly: op.readOnly, handle: (call, raw) => op.handle(acmPca, call, raw) };
    },
    unserved: ACMPCA_UNSERVED,
  };
  const acm = new AcmService({ repo, keystore, authorizer, clock, issuer: options.certificateIssuer ?? acmPcaIssuer });
  const acmService: JsonService = {
    targetPrefixes: [ACM_TARGET_PREFIX],
    signingName: "acm",
    internalErrorCode: "InternalFailure",
    operation: (name) => {
      const op = ACM_OPERATIONS_BY_NAME.get(name);
      return op && { readOnly: op.readOnly, handle: (call, raw) => op.handle(acm, call, raw) };
    },
    unserved: ACM_UNSERVED,
  };
  const sts = new StsService({ directory, credentials, authorizer, clock });
  // Rotation needs IAM's access keys (the built-in access-key rotator) and the trail (RotationStarted/Succeeded/Failed).
  secretsManager.rotation = new RotationRunner(
    secretsManager,
    new RotationFunctions(repo, keystore),
    { repo, credentials },
    (e) =>
      audit.serviceEvent({
        time: clock.now(),
        eventSource: "secretsmanager.amazonaws.com",
        eventName: e.eventName,
        accountId: e.accountId,
        region: e.region,
        resource: { arn: e.arn, type: SECRET_RESOURCE_TYPE },
        details: e.details,
      }),
    (m) => log.info(m),
  );
  const queryServices: QueryService[] = [
    {
      signingName: "iam",
      version: IAM_VERSION,
      xmlNamespace: IAM_XML_NAMESPACE,
      operation: (name) => {
        const op = IAM_OPERATIONS_BY_NAME.get(name);
        return op && { readOnly: op.readOnly, input: op.input, handle: (call, raw) => op.handle(iam, call, raw) };
      },
    },
    {
      signingName: "sts",
      version: STS_VERSION,
      xmlNamespace: STS_XML_NAMESPACE,
      operation: (name) => {
        const op = STS_OPERATIONS_BY_NAME.get(name);
        return op && { readOnly: op.readOnly, input: op.input, handle: (call, raw) => op.handle(sts, call, raw) };
      },
    },
  ];
  const org = new OrganizationsService(repo, authorizer, clock, config.accountId);
  const organizationsService: JsonService = {
    targetPrefixes: [ORGANIZATIONS_TARGET_PREFIX],
    signingName: "organizations",
    internalErrorCode: "InternalFailure",
    operation: (name) => {
      const op = ORGANIZATIONS_OPERATIONS_BY_NAME.get(name);
      return (
        op && {
          readOnly: op.readOnly,
          handle: async (call, raw) => {
            try {
              return await op.handle(org, call, raw);
            } catch (error) {
              // Organizations names its validation failures InvalidInputException.
              if (error instanceof ServiceError && error.code === "ValidationException")
                throw new ServiceError("InvalidInputException", error.message);
              throw error;
            }
          },
        }
      );
    },
  };
  const s3 = new S3Service({
    repo,
    kms,
    authorizer,
    clock,
    objects: new FileObjectStore(config.dataDir),
    allowSseCOnNewBuckets: config.s3AllowSseC,
    sseS3RotationDays: config.s3KeyRotationDays,
    log,
    recordServiceEvent: (action) => audit.serviceEvent(action),
  });
  acmPca.crls = new CrlPublisher(acmPca, s3);
  const remote =
    config.trailS3Endpoint === undefined
      ? undefined
      : new RemoteS3({
          endpoint: config.trailS3Endpoint,
          region: config.trailS3Region ?? config.region,
          accessKeyId: config.trailS3AccessKeyId!,
          secretAccessKey: config.trailS3SecretAccessKey!,
        });
  const cloudTrail = new CloudTrailService({ audit: audit.store, repo, s3, keystore, clock, remote });
  const trails = new TrailDelivery(cloudTrail, (m) => log.info(m));
  const rest = new RestXmlProtocol({
    signingName: "s3",
    xmlNamespace: S3_XML_NAMESPACE,
    routes: S3_ROUTES,
    operation: (name) => {
      const op = S3_OPERATIONS_BY_NAME.get(name);
      return op && { readOnly: op.readOnly, handle: (call, raw) => op.handle(s3, call, raw as Record<string, unknown>) };
    },
  });
  // The request log and the metrics hear of every answered call: API calls and OCSP requests.
  const answered: ((call: AnsweredCall) => void) | undefined =
    config.metricsPort === undefined && !log.request
      ? undefined
      : (call) => {
          metrics?.answered(call);
          log.request?.(requestLogEntry(call));
        };
  const dispatcher = new Dispatcher({
    lookup: credentials.lookup,
    now: () => clock.now(),
    log,
    observer: audit,
    regions: servedRegions(config.extraRegions),
    answered,
  });
  const json = new JsonProtocol([
    kmsService,
    cloudTrailService,
    organizationsService,
    secretsManagerService,
    cloudHsmService,
    acmPcaService,
    acmService,
  ]);
  const query = new QueryProtocol(queryServices);
  // AWS JSON requests name their operation in X-Amz-Target; S3's REST requests are signed for s3;
  // Query requests (IAM, STS) name theirs in an Action parameter.
  // Readiness (/_keyhold/readyz): false while draining, when the database refuses a write, or when
  // the audit trail's last write failed. The database check rewrites nothing: inserting the sealed
  // root key that is already there takes the write lock and changes no row.
  let draining = false;
  const readiness: Record<string, ReadinessCheck> = {
    serving: () => (draining ? "draining: this node is shutting down" : undefined),
    database: async () => {
      try {
        const sealed = await repo.readSeal();
        if (!sealed) return "the sealed root key is missing";
        await repo.writeSeal(sealed);
        return undefined;
      } catch (error) {
        log.error(`readiness: the database refused a write: ${(error as Error)?.message ?? String(error)}`);
        return "not writable";
      }
    },
    audit: () => {
      if (audit.writeFailure === undefined) return undefined;
      log.error(`readiness: the audit trail's last write failed: ${audit.writeFailure}`);
      return "the audit trail cannot be written";
    },
    // startKeyhold returns only once the root key is unsealed (SoftwareKeyStore.open).
    keystore: () => undefined,
  };
  // OCSP requests (unsigned, for the CAs' certificates' status) come before the probes, whose
  // /_keyhold/ prefix they share (docs/ocsp.md).
  const ocsp = ocspHandler({ source: acmPcaIssuer, now: () => clock.now(), logError: (m) => log.error(m), answered });
  // The web console's files (/console/, unsigned GET and HEAD only): before SigV4, like the probes.
  const consoleFiles = new ConsoleFiles();
  const handler: RequestHandler = (req) =>
    isOcspRequest(req)
      ? ocsp(req)
      : isProbe(req)
        ? req.rawPath === SIGNIN_PATH
          ? answerSignIn(req, signIn)
          : answerProbe(req, readiness)
        : isConsoleRequest(req)
          ? Promise.resolve(consoleFiles.answer(req))
          : dispatcher.handle(req, req.headers["x-amz-target"] !== undefined ? json : isS3Request(req) ? rest : query);
  // Only an S3 upload streams: rest.streams answers no at once for anything but a PUT, so the
  // KMS hot path (POSTs with X-Amz-Target) pays nothing for this.
  const streams: StreamPredicate = (req) =>
    req.headers["x-amz-target"] === undefined &&
    rest.streams(req) &&
    isS3Request({ headers: req.headers, url: req.url, method: req.method });
  const limits: ConnectionLimits = {
    headersTimeoutMs: config.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs,
    minReceiveRate: config.minReceiveRate ?? DEFAULT_LIMITS.minReceiveRate,
    maxConnectionsPerSource: config.maxConnectionsPerSource ?? DEFAULT_LIMITS.maxConnectionsPerSource,
  };
  let tls: TlsFiles | undefined;
  let acmTls: AcmTls | undefined;
  if (config.tlsPort !== undefined) {
    // An ACM certificate of keyhold's own account (named, or made at first start from keyhold's
    // local private CA), followed when it is renewed or re-imported; or certificate files.
    // Read before anything listens: a certificate that cannot be served stops the start cleanly.
    try {
      if (config.tlsCertificateArn !== undefined) {
        acmTls = new AcmTls(acm, config.tlsCertificateArn, config.accountId, config.region, (m) => log.info(m));
        tls = await acmTls.identity();
      } else if (makesOwnTls(config)) {
        const local = await ensureLocalTls(config.dataDir, config.host, {
          pca: acmPca,
          acm,
          accountId: config.accountId,
          region: config.region,
          clock,
          log: (m) => log.info(m),
          record: (event) =>
            void audit
              .serviceEvent(event)
              .catch((error: unknown) => log.error(`recording ${event.eventName} failed: ${(error as Error)?.message ?? String(error)}`)),
        } satisfies LocalTlsDeps);
        acmTls = new AcmTls(acm, local.certificateArn, config.accountId, config.region, (m) => log.info(m), "made at first start");
        tls = { ...(await acmTls.identity()), caFile: local.caFile };
      } else tls = loadTls({ dataDir: config.dataDir, certFile: config.tlsCert, keyFile: config.tlsKey });
    } catch (error) {
      await audit.close();
      await repo.close();
      keystore.close();
      throw error;
    }
  }
  // Replies the HTTP layer makes itself (a body over the bound, a handler that threw) are logged
  // and counted like the dispatcher's.
  const serverAnswered: ServerAnswered = (call, error) => {
    if (error !== undefined) log.error(`request ${call.completed.requestId} failed: ${(error as Error)?.stack ?? String(error)}`);
    answered?.(call);
  };
  const server = createHttpServer(handler, streams, undefined, limits, serverAnswered);
  await listen(server, config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  let tlsServer: Server | undefined;
  if (config.tlsPort !== undefined) {
    tlsServer = createHttpServer(handler, streams, tls, limits, serverAnswered);
    acmTls?.serve(tlsServer as unknown as TlsServer, config.schedulerIntervalMs);
    await listen(tlsServer, config.tlsPort, config.host);
  }
  const tlsPort = tlsServer && (tlsServer.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(":") ? `[${config.host}]` : config.host;
  consoleUrl = `http://${hostForUrl}:${port}/console/`;
  // The URL certificates carry for the CRL (path-style S3) and the OCSP responder: --public-url, else this endpoint.
  acmPca.endpoint = config.publicUrl ?? `http://${hostForUrl}:${port}`;
  if (config.publicUrl === undefined && (config.host === "0.0.0.0" || config.host === "::"))
    log.info(
      `certificates keyhold's CAs issue name ${acmPca.endpoint} for their CRL and OCSP URLs: set --public-url to the URL clients reach keyhold at`,
    );
  if (tlsPort !== undefined) log.info(`HTTPS on port ${tlsPort}${tls?.caFile ? `; clients trust ${tls.caFile} (aws --ca-bundle)` : ""}`);

  const scheduler = new KmsScheduler(
    kms,
    (m) => log.info(m),
    (e) =>
      audit.serviceEvent({
        time: clock.now(),
        eventName: e.eventName,
        accountId: e.key.accountId,
        region: e.key.region,
        resource: { arn: e.arn, type: KEY_RESOURCE_TYPE },
        details: { keyId: e.key.keyId },
      }),
  );
  const secretsScheduler = new SecretsScheduler(secretsManager, (m) => log.info(m));
  const acmPcaScheduler = new AcmPcaScheduler(acmPca, (m) => log.info(m));
  const acmScheduler = new AcmScheduler(
    acm,
    (m) => log.info(m),
    (e) =>
      void audit
        .serviceEvent({
          time: clock.now(),
          eventSource: "acm.amazonaws.com",
          eventName: "RenewCertificate",
          accountId: e.accountId,
          region: e.region,
          resource: { arn: e.arn, type: CERTIFICATE_RESOURCE_TYPE },
          details: e.ok ? { renewalStatus: "SUCCESS" } : { renewalStatus: "FAILED", renewalStatusReason: e.reason ?? "OTHER" },
        })
        .catch((error: unknown) => log.error(`recording a certificate renewal failed: ${(error as Error)?.message ?? String(error)}`)),
  );
  // Files no S3 object refers to (a crash between a write and its commit) are removed hourly,
  // once they are an hour old, by the process that runs the scheduler.
  let sweeper: NodeJS.Timeout | undefined;
  if (options.scheduler !== false) {
    scheduler.start(config.schedulerIntervalMs);
    secretsScheduler.start(config.schedulerIntervalMs);
    acmPcaScheduler.start(config.schedulerIntervalMs);
    acmScheduler.start(config.schedulerIntervalMs);
    audit.startDigests();
    trails.start(config.trailDeliveryIntervalMs ?? 300_000);
    const sweep = () => {
      s3.sweepOrphans(ORPHAN_AGE_MS).then(
        (n) => n > 0 && log.info(`removed ${n} S3 files no object refers to`),
        (e: unknown) => log.error(`sweeping S3 files failed: ${(e as Error)?.stack ?? String(e)}`),
      );
    };
    sweeper = setInterval(sweep, ORPHAN_AGE_MS);
    sweeper.unref();
  }
  // Every process retries its own sessions' missing tokens (each has its own sessions).
  customKeyStores.start(5_000);
  if (generated && options.printCredentials) printCredentials(config, generated, port);
  let metricsListener: MetricsListener | undefined;
  if (config.metricsPort !== undefined) {
    const runsScheduler = options.scheduler !== false;
    metrics = new Metrics({
      inFlight: () => dispatcher.inFlight,
      auditQueueDepth: () => audit.queueDepth,
      lastDigest: () => audit.lastDigest,
      digests: runsScheduler,
      now: () => clock.now(),
      caches: () => {
        const records = repo.cacheStats();
        return {
          keys: records.keys,
          key_versions: records.versions,
          key_material: kms.materialCacheStats(),
          access_keys: records.accessKeys,
          access_key_secrets: credentials.secretCacheStats(),
          aliases: records.aliases,
          policies: records.documents,
        };
      },
      invalidationsReceived: () => repo.invalidationsReceived,
      kmsScheduler: () => scheduler.done,
      secretsScheduler: () => secretsScheduler.done,
      acmScheduler: () => acmScheduler.done,
      postgresPool: backend instanceof PostgresRepository ? () => backend.poolStats() : undefined,
    });
    if (options.metricsListener !== false) {
      metricsListener = await startMetricsListener(
        config.metricsHost ?? "127.0.0.1",
        config.metricsPort,
        { metrics: () => metrics!.text(), readiness: () => readiness },
        log,
      );
      log.info(`metrics on ${metricsListener.url}/metrics`);
    }
  }

  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    s3,
    tlsUrl: tlsPort === undefined ? undefined : `https://${hostForUrl}:${tlsPort}`,
    tlsPort,
    caFile: tls?.caFile,
    kms,
    repo,
    scheduler,
    secretsManager,
    secretsScheduler,
    acmPca,
    acmPcaIssuer,
    acmPcaScheduler,
    acm,
    acmScheduler,
    audit,
    trails,
    generatedRootCredentials: generated,
    metrics,
    metricsUrl: metricsListener?.url,
    readiness,
    drain() {
      draining = true;
    },
    async close(timeoutMs = (config.shutdownTimeout ?? 30) * 1000) {
      draining = true;
      // Every reply sent before this resolves had its audit events written first (the adapters
      // answer only after the trail took the call), so what a client saw acknowledged is recorded.
      await Promise.all((tlsServer ? [server, tlsServer] : [server]).map((s) => drainServer(s, timeoutMs)));
      await metricsListener?.close();
      if (sweeper) clearInterval(sweeper);
      await scheduler.stop();
      await customKeyStores.close();
      await trails.stop();
      await secretsScheduler.stop();
      await acmPcaScheduler.stop();
      await acmScheduler.stop();
      await hsmKeys?.close();
      acmTls?.close();
      await audit.close();
      await repo.close();
      keystore.close();
    },
  };
}

async function initialize(config: Config, repo: Repository, credentials: Credentials, clock: Clock, log: Logger) {
  const now = clock.now();
  await repo.createAccount({ accountId: config.accountId, createdAt: now });
  const fromEnv = config.rootAccessKeyId !== undefined;
  const accessKeyId = config.rootAccessKeyId ?? generateAccessKeyId();
  const secretAccessKey = config.rootSecretAccessKey ?? generateSecretAccessKey();
  await credentials.addAccessKey(config.accountId, accessKeyId, secretAccessKey, now);
  log.info(`initialized ${config.dataDir}: account ${config.accountId}, root access key ${accessKeyId}`);
  if (fromEnv) return undefined;
  const file = join(config.dataDir, "root-credentials");
  writeFileSync(file, `AWS_ACCESS_KEY_ID=${accessKeyId}\nAWS_SECRET_ACCESS_KEY=${secretAccessKey}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { accessKeyId, secretAccessKey };
}

export function printCredentials(config: Config, creds: GeneratedCredentials, port: number): void {
  process.stdout.write(
    [
      "",
      `Root credentials of account ${config.accountId} (shown once; also in ${join(config.dataDir, "root-credentials")}, mode 0600):`,
      `  export AWS_ACCESS_KEY_ID=${creds.accessKeyId}`,
      `  export AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`,
      `  export AWS_DEFAULT_REGION=${config.region}`,
      `  aws --endpoint-url http://${config.host}:${port} kms create-key --description first`,
      "",
    ].join("\n") + "\n",
  );
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Makes another account, with its own root access key, in an initialized data directory. */
export async function createAccount(config: Config, accountId: string, clock: Clock = systemClock): Promise<GeneratedCredentials> {
  const { repo, keystore, credentials } = await openStorage(config);
  try {
    if (!(await repo.getAccount(config.accountId))) {
      throw new ConfigError(`${config.dataDir} is not initialized: start keyhold server once first`);
    }
    if (await repo.getAccount(accountId)) throw new ConfigError(`account ${accountId} already exists`);
    await repo.createAccount({ accountId, createdAt: clock.now() });
    const creds = { accessKeyId: generateAccessKeyId(), secretAccessKey: generateSecretAccessKey() };
    await credentials.addAccessKey(accountId, creds.accessKeyId, creds.secretAccessKey, clock.now());
    return creds;
  } finally {
    await repo.close();
    keystore.close();
  }
}

/** Runs `fn` on the data directory's (or shared database's) storage, closed afterwards: for the operator commands. */
export async function withStorage<T>(
  config: Config,
  fn: (storage: { repo: Repository; keystore: SoftwareKeyStore }) => Promise<T>,
): Promise<T> {
  const { repo, keystore } = await openStorage(config);
  try {
    if (!(await repo.getAccount(config.accountId))) {
      throw new ConfigError(`${config.dataDir} is not initialized: start keyhold server once first`);
    }
    return await fn({ repo, keystore });
  } finally {
    await repo.close();
    keystore.close();
  }
}

export async function listAccounts(config: Config): Promise<{ accountId: string; createdAt: number }[]> {
  const { repo, keystore } = await openStorage(config);
  try {
    return await repo.listAccounts();
  } finally {
    await repo.close();
    keystore.close();
  }
}
