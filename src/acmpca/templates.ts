/**
 * ACM PCA's certificate templates (https://docs.aws.amazon.com/privateca/latest/userguide/template-definitions.html):
 * what each puts in basicConstraints, keyUsage and extendedKeyUsage, whether it carries the
 * SKI/AKI, CRL distribution point and OCSP AIA, and what it passes through from the CSR and the
 * request's ApiPassthrough. One frozen table; `issue` reads it.
 */
import { ServiceError } from "../errors.js";

export const TEMPLATE_ARN_PREFIX = "arn:aws:acm-pca:::template/";

const KU = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;
export const KEY_USAGE_BITS = KU;

export const EKU = {
  SERVER_AUTH: "1.3.6.1.5.5.7.3.1",
  CLIENT_AUTH: "1.3.6.1.5.5.7.3.2",
  CODE_SIGNING: "1.3.6.1.5.5.7.3.3",
  EMAIL_PROTECTION: "1.3.6.1.5.5.7.3.4",
  TIME_STAMPING: "1.3.6.1.5.5.7.3.8",
  OCSP_SIGNING: "1.3.6.1.5.5.7.3.9",
  SMART_CARD_LOGIN: "1.3.6.1.4.1.311.20.2.2",
  DOCUMENT_SIGNING: "1.3.6.1.4.1.311.10.3.12",
  CERTIFICATE_TRANSPARENCY: "1.3.6.1.4.1.11129.2.4.4",
} as const;

export interface Template {
  name: string;
  /** basicConstraints: an end-entity (CA:FALSE), or a CA with an optional path length. */
  ca: false | { pathLen?: number };
  keyUsage: number;
  eku?: { oids: string[]; critical: boolean };
  /** Authority key identifier and CRL distribution point: every template but the self-signed root's. */
  fromIssuer: boolean;
  /** Only a root CA's own pending certificate, signed by itself. */
  root: boolean;
  csrPassthrough: boolean;
  apiPassthrough: boolean;
}

const endEntity = (name: string, keyUsage: number, eku: Template["eku"]): Template[] =>
  (
    [
      ["", false, false],
      ["_CSRPassthrough", true, false],
      ["_APIPassthrough", false, true],
      ["_APICSRPassthrough", true, true],
    ] as const
  ).map(([suffix, csr, api]) => ({
    name: name + suffix,
    ca: false,
    keyUsage,
    eku,
    fromIssuer: true,
    root: false,
    csrPassthrough: csr,
    apiPassthrough: api,
  }));

const CA_USAGE = KU.digitalSignature | KU.keyCertSign | KU.cRLSign;

const subordinate = (pathLen: number): Template[] =>
  (
    [
      ["", false, false],
      ["_CSRPassthrough", true, false],
      ["_APIPassthrough", false, true],
      ["_APICSRPassthrough", true, true],
    ] as const
  ).map(([suffix, csr, api]) => ({
    name: `SubordinateCACertificate_PathLen${pathLen}${suffix}`,
    ca: { pathLen },
    keyUsage: CA_USAGE,
    fromIssuer: true,
    root: false,
    csrPassthrough: csr,
    apiPassthrough: api,
  }));

export const TEMPLATES: ReadonlyMap<string, Template> = new Map(
  [
    ...endEntity("EndEntityCertificate", KU.digitalSignature | KU.keyEncipherment, {
      oids: [EKU.SERVER_AUTH, EKU.CLIENT_AUTH],
      critical: false,
    }),
    ...endEntity("EndEntityClientAuthCertificate", KU.digitalSignature, { oids: [EKU.CLIENT_AUTH], critical: false }),
    ...endEntity("EndEntityServerAuthCertificate", KU.digitalSignature | KU.keyEncipherment, { oids: [EKU.SERVER_AUTH], critical: false }),
    {
      name: "CodeSigningCertificate",
      ca: false,
      keyUsage: KU.digitalSignature,
      eku: { oids: [EKU.CODE_SIGNING], critical: true },
      fromIssuer: true,
      root: false,
      csrPassthrough: false,
      apiPassthrough: false,
    },
    {
      name: "OCSPSigningCertificate",
      ca: false,
      keyUsage: KU.digitalSignature,
      eku: { oids: [EKU.OCSP_SIGNING], critical: true },
      fromIssuer: true,
      root: false,
      csrPassthrough: false,
      apiPassthrough: false,
    },
    { name: "RootCACertificate", ca: {}, keyUsage: CA_USAGE, fromIssuer: false, root: true, csrPassthrough: false, apiPassthrough: false },
    {
      name: "RootCACertificate_APIPassthrough",
      ca: {},
      keyUsage: CA_USAGE,
      fromIssuer: false,
      root: true,
      csrPassthrough: false,
      apiPassthrough: true,
    },
    ...[0, 1, 2, 3].flatMap(subordinate),
  ].map((t): [string, Template] => [`${TEMPLATE_ARN_PREFIX}${t.name}/V1`, t as Template]),
);

export const DEFAULT_TEMPLATE_ARN = `${TEMPLATE_ARN_PREFIX}EndEntityCertificate/V1`;

export function template(arn: string | undefined): Template {
  const t = TEMPLATES.get(arn ?? DEFAULT_TEMPLATE_ARN);
  if (!t)
    throw new ServiceError(
      "InvalidArgsException",
      `The template ${arn} is not a template ACM Private CA provides (arn:aws:acm-pca:::template/<name>/V1).`,
    );
  return t;
}
