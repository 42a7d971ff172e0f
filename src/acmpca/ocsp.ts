/**
 * The OCSP responder of keyhold's private CAs (RFC 6960): given the DER of an OCSPRequest and the
 * CA it was sent for, the DER of the OCSPResponse. It knows nothing of HTTP (src/http/ocsp-route.ts
 * serves it) nor of how certificates are stored: a CertificateStatusSource tells it the CA's
 * certificate, each serial's status and the delegated OCSP signing certificate that signs.
 *
 * What is answered how:
 * - a body over MAX_OCSP_REQUEST_BYTES, bytes that are not exactly one DER OCSPRequest, an empty
 *   request list or one of more than MAX_OCSP_CERT_IDS, a nonce of 0 or more than 128 octets
 *   (RFC 9654 §2.1): `malformedRequest`, before any lookup;
 * - a CA that does not exist, does not have OCSP enabled, has no certificate yet or is deleted, or
 *   a request none of whose CertIDs names this CA (its issuerNameHash and issuerKeyHash, in SHA-1,
 *   SHA-256, SHA-384 or SHA-512): `unauthorized`, as RFC 5019 §2.2.3 says of a responder that
 *   cannot answer authoritatively;
 * - the store or the signer failing: `tryLater` (nothing about the failure reaches the client);
 * - otherwise `successful`, one SingleResponse per CertID in the request's order: `good`,
 *   `revoked` (time and CRLReason), or `unknown` for a serial the CA never issued and for a CertID
 *   that names another issuer (RFC 6960 §2.2), signed by the delegated responder certificate,
 *   which is sent in `certs`; the nonce is echoed. AWS's own responder reads only the first
 *   CertID and ignores request extensions: keyhold answers all of them, and the nonce.
 *
 * Requests are not required to be signed (optionalSignature is ignored), as on AWS.
 */
import { createHash } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { CRLReason, CRLReasons, Extension } from "@peculiar/asn1-x509";
import {
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from "@peculiar/asn1-ocsp";
import type { CertificateStatusSource } from "./issuer.js";
import { isOneSequence, subjectAndKey, tlv } from "./ocsp-der.js";

/** Where the responder learns what it answers: the ACM Private CA service implements it (src/acmpca/issuer.ts); tests give fixtures. */
export type { CertificateStatusSource };

/**
 * A request for one certificate is about 100 bytes, and a signed one carrying its signer's chain
 * a few KB: anything larger is refused before it is parsed.
 */
export const MAX_OCSP_REQUEST_BYTES = 8192;
/** CertIDs one request may ask about: each costs a status lookup. */
export const MAX_OCSP_CERT_IDS = 16;
/** RFC 9654 §2.1: a nonce has 1 to 128 octets, and a request with any other is malformed. */
const MAX_NONCE_BYTES = 128;
/**
 * How long a response is fresh (nextUpdate − thisUpdate), and so how long a client or cache may
 * keep it: a revocation reaches such a client at most this late (AWS says up to 60 minutes).
 */
export const DEFAULT_OCSP_VALIDITY_SECONDS = 3600;

/** CA states in which its certificates' statuses are answered: it has a certificate and is not deleted. */
const ANSWERING_STATES: ReadonlySet<string> = new Set(["ACTIVE", "DISABLED", "EXPIRED"]);

/** The hash algorithms a CertID may use (RFC 6960 §4.1.1 names SHA-1; clients also send SHA-256). */
const CERT_ID_HASHES: Readonly<Record<string, string>> = Object.freeze({
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
});

/** ACM Private CA's RevocationReason → RFC 5280 CRLReason. */
const CRL_REASONS: Readonly<Record<string, CRLReasons>> = Object.freeze({
  UNSPECIFIED: CRLReasons.unspecified,
  KEY_COMPROMISE: CRLReasons.keyCompromise,
  CERTIFICATE_AUTHORITY_COMPROMISE: CRLReasons.cACompromise,
  AFFILIATION_CHANGED: CRLReasons.affiliationChanged,
  SUPERSEDED: CRLReasons.superseded,
  CESSATION_OF_OPERATION: CRLReasons.cessationOfOperation,
  PRIVILEGE_WITHDRAWN: CRLReasons.privilegeWithdrawn,
  A_A_COMPROMISE: CRLReasons.aACompromise,
});

export type OcspResponseStatusName = "successful" | "malformedRequest" | "internalError" | "tryLater" | "sigRequired" | "unauthorized";

/** The response and what the HTTP layer needs to know of it (status for the log, caching). */
export interface OcspAnswer {
  der: Buffer;
  status: OcspResponseStatusName;
  /** The response echoes a nonce: it answers this request only and must not be cached. */
  nonce: boolean;
  /** For a successful response: when it stops being fresh. */
  nextUpdate?: Date;
}

export interface OcspOptions {
  validitySeconds?: number;
  /** Told why a request was answered tryLater (for the server's log; never sent to the client). */
  onError?: (error: unknown) => void;
}

const unsuccessful = (status: Exclude<OcspResponseStatusName, "successful">): Buffer =>
  Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })));
const REFUSALS = {
  malformedRequest: unsuccessful("malformedRequest"),
  unauthorized: unsuccessful("unauthorized"),
  tryLater: unsuccessful("tryLater"),
} as const;

function refuse(status: keyof typeof REFUSALS): OcspAnswer {
  return { der: REFUSALS[status], status, nonce: false };
}

/** The OCSPResponse (DER) answering `requestDer` for CA `caId` at `now`. */
export async function answerOcsp(
  requestDer: Buffer,
  source: CertificateStatusSource,
  caId: string,
  now: Date,
  options: OcspOptions = {},
): Promise<Buffer> {
  return (await answerOcspRequest(requestDer, source, caId, now, options)).der;
}

/** answerOcsp, telling also how the request was answered. */
export async function answerOcspRequest(
  requestDer: Buffer,
  source: CertificateStatusSource,
  caId: string,
  now: Date,
  options: OcspOptions = {},
): Promise<OcspAnswer> {
  const parsed = parseRequest(requestDer);
  if (parsed === undefined) return refuse("malformedRequest");
  try {
    return await respond(parsed, source, caId, now, options);
  } catch (error) {
    options.onError?.(error);
    return refuse("tryLater");
  }
}

interface ParsedRequest {
  certIds: CertID[];
  nonce?: Extension;
}

/** The request's CertIDs and nonce, or undefined when it is malformed. */
function parseRequest(der: Buffer): ParsedRequest | undefined {
  // Bounded before any parsing; exactly one SEQUENCE (the ASN.1 parser ignores trailing bytes).
  if (der.length === 0 || der.length > MAX_OCSP_REQUEST_BYTES || !isOneSequence(der)) return undefined;
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch {
    return undefined;
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0 || list.length > MAX_OCSP_CERT_IDS) return undefined;
  const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  if (nonce) {
    const length = nonceLength(new Uint8Array(nonce.extnValue.buffer));
    if (length < 1 || length > MAX_NONCE_BYTES) return undefined;
  }
  return { certIds: list.map((r) => r.reqCert), nonce };
}

/**
 * The nonce's length: RFC 9654 has extnValue hold a DER OCTET STRING whose content is the nonce;
 * some older clients put the nonce there bare, which is taken as is.
 */
function nonceLength(extnValue: Uint8Array): number {
  try {
    const inner = AsnConvert.parse(extnValue, OctetString);
    if (AsnConvert.serialize(inner).byteLength === extnValue.length) return inner.byteLength;
  } catch {
    // Not an OCTET STRING: the bare nonce.
  }
  return extnValue.length;
}

async function respond(
  request: ParsedRequest,
  source: CertificateStatusSource,
  caId: string,
  now: Date,
  options: OcspOptions,
): Promise<OcspAnswer> {
  const authority = await source.authority(caId);
  if (!authority || !authority.ocspEnabled || !ANSWERING_STATES.has(authority.status)) return refuse("unauthorized");
  const issuer = issuerHashes(authority.certificateDer);
  const ours = request.certIds.map((id) => issuer.matches(id));
  if (!ours.includes(true)) return refuse("unauthorized");

  // GeneralizedTime in whole seconds (RFC 5280 §4.1.2.5.2 style: no fractions).
  const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + (options.validitySeconds ?? DEFAULT_OCSP_VALIDITY_SECONDS) * 1000);
  const responses: SingleResponse[] = [];
  for (let i = 0; i < request.certIds.length; i++) {
    const certID = request.certIds[i]!;
    const certStatus = ours[i] ? await statusOf(source, caId, certID) : new CertStatus({ unknown: null });
    responses.push(new SingleResponse({ certID, certStatus, thisUpdate, nextUpdate }));
  }

  const responder = await source.responder(caId);
  const { publicKey } = subjectAndKey(responder.certificateDer);
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(createHash("sha1").update(publicKey).digest()) }),
    producedAt: thisUpdate,
    responses,
    responseExtensions: request.nonce ? [new Extension({ extnID: id_pkix_ocsp_nonce, extnValue: request.nonce.extnValue })] : undefined,
  });
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const signature = await responder.sign(tbs);
  // BasicOCSPResponse, assembled around the exact bytes signed and the responder's certificate as stored.
  const basic = tlv(
    0x30,
    tbs,
    algorithmIdentifier(responder.signatureAlgorithmOid),
    tlv(0x03, Buffer.from([0]), signature),
    tlv(0xa0, tlv(0x30, responder.certificateDer)),
  );
  const der = Buffer.from(
    AsnConvert.serialize(
      new OCSPResponse({
        responseStatus: OCSPResponseStatus.successful,
        responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(basic) }),
      }),
    ),
  );
  return { der, status: "successful", nonce: request.nonce !== undefined, nextUpdate };
}

/** The CA's name and key hashes, per hash algorithm as CertIDs ask for them. */
function issuerHashes(certificateDer: Buffer): { matches(id: CertID): boolean } {
  const { subject, publicKey } = subjectAndKey(certificateDer);
  const computed = new Map<string, { name: Buffer; key: Buffer }>();
  return {
    matches(id: CertID): boolean {
      const algorithm = CERT_ID_HASHES[id.hashAlgorithm.algorithm];
      if (algorithm === undefined) return false;
      let hashes = computed.get(algorithm);
      if (!hashes) {
        hashes = { name: createHash(algorithm).update(subject).digest(), key: createHash(algorithm).update(publicKey).digest() };
        computed.set(algorithm, hashes);
      }
      return hashes.name.equals(new Uint8Array(id.issuerNameHash.buffer)) && hashes.key.equals(new Uint8Array(id.issuerKeyHash.buffer));
    },
  };
}

async function statusOf(source: CertificateStatusSource, caId: string, certID: CertID): Promise<CertStatus> {
  const serialHex = serialToHex(new Uint8Array(certID.serialNumber));
  if (serialHex === undefined) return new CertStatus({ unknown: null });
  const found = await source.status(caId, serialHex);
  if (found.status === "good") return new CertStatus({ good: null });
  if (found.status === "unknown") return new CertStatus({ unknown: null });
  const reason = CRL_REASONS[found.reason];
  return new CertStatus({
    revoked: new RevokedInfo({
      revocationTime: new Date(Math.floor(found.revokedAt.getTime() / 1000) * 1000),
      // As in a CRL (RFC 5280 §5.3.1), "unspecified" is said by leaving the reason out.
      revocationReason: reason === undefined || reason === CRLReasons.unspecified ? undefined : new CRLReason(reason),
    }),
  });
}

/**
 * A CertID's serial as the CA names it: lower-case hex without the leading zero octets of a
 * positive INTEGER. A negative or over-long serial is none the CA issued (RFC 5280 §4.1.2.2: at
 * most 20 octets, positive).
 */
export function serialToHex(serial: Uint8Array): string | undefined {
  if (serial.length === 0 || serial.length > 21 || (serial[0]! & 0x80) !== 0) return undefined;
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  if (serial.length - start > 20) return undefined;
  return Buffer.from(serial.subarray(start)).toString("hex");
}

/** RSA PKCS#1 v1.5 signature algorithms carry NULL parameters; ECDSA and ML-DSA none (RFC 4055, 5758, 9881). */
function algorithmIdentifier(oid: string): Buffer {
  const encoded = encodeOid(oid);
  return oid.startsWith("1.2.840.113549.1.1.") ? tlv(0x30, encoded, Buffer.from([0x05, 0x00])) : tlv(0x30, encoded);
}

function encodeOid(oid: string): Buffer {
  const arcs = oid.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new Error(`bad OID ${oid}`);
  const bytes: number[] = [];
  const push = (value: number) => {
    const groups = [value & 0x7f];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(0x06, Buffer.from(bytes));
}
