/**
 * Private CAs made active through @aws-sdk/client-acm-pca, and CSRs made by the openssl command
 * line, as the ACM Private CA, ACM and OCSP tests (and bench/acmpca.ts) need them.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import {
  CreateCertificateAuthorityCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
  type ACMPCAClient,
  type ASN1Subject,
  type CreateCertificateAuthorityCommandInput,
} from "@aws-sdk/client-acm-pca";

export const TEMPLATE = "arn:aws:acm-pca:::template/";

/** The CA that signs another's certificate, with what, and from which template. */
export interface CaIssuer {
  arn: string;
  signing: string;
  /** Default: SubordinateCACertificate_PathLen0/V1. */
  template?: string;
}

export interface ActiveCa {
  arn: string;
  /** The last part of the ARN, as OCSP URLs and CRL names carry it. */
  id: string;
  /** The CA's certificate (PEM) and, for a subordinate, the chain above it. */
  certificate: string;
  chain?: string;
  /** The CSR the CA made (PEM). */
  csr: string;
}

/** What CreateCertificateAuthority is sent: `subject` is a whole Subject, or a CommonName (of organization "keyhold tests", US). */
export function caInput(
  type: "ROOT" | "SUBORDINATE",
  keyAlgorithm: string,
  signingAlgorithm: string,
  subject: string | ASN1Subject,
  extra: Partial<CreateCertificateAuthorityCommandInput> = {},
): CreateCertificateAuthorityCommandInput {
  return {
    CertificateAuthorityType: type,
    CertificateAuthorityConfiguration: {
      KeyAlgorithm: keyAlgorithm as never,
      SigningAlgorithm: signingAlgorithm as never,
      Subject: typeof subject === "string" ? { CommonName: subject, Organization: "keyhold tests", Country: "US" } : subject,
    },
    ...extra,
  };
}

/**
 * Creates a CA and makes it active: a root's CSR is signed by the root itself
 * (RootCACertificate/V1, ten years), a subordinate's by `parent` (five years); the certificate
 * (with its chain) is then imported. `checkCsr` sees the CA's CSR before it is signed.
 */
export async function activateCa(
  pca: ACMPCAClient,
  input: CreateCertificateAuthorityCommandInput,
  parent?: CaIssuer,
  checkCsr?: (csr: string) => void,
): Promise<ActiveCa> {
  const { CertificateAuthorityArn: arn } = await pca.send(new CreateCertificateAuthorityCommand(input));
  const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
  checkCsr?.(Csr!);
  const issuer = parent ?? {
    arn: arn!,
    signing: input.CertificateAuthorityConfiguration!.SigningAlgorithm!,
    template: `${TEMPLATE}RootCACertificate/V1`,
  };
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: issuer.arn,
      Csr: Buffer.from(Csr!),
      SigningAlgorithm: issuer.signing as never,
      TemplateArn: issuer.template ?? `${TEMPLATE}SubordinateCACertificate_PathLen0/V1`,
      Validity: { Type: "YEARS", Value: parent ? 5 : 10 },
    }),
  );
  const got = await pca.send(new GetCertificateCommand({ CertificateAuthorityArn: issuer.arn, CertificateArn }));
  await pca.send(
    new ImportCertificateAuthorityCertificateCommand({
      CertificateAuthorityArn: arn,
      Certificate: Buffer.from(got.Certificate!),
      CertificateChain: got.CertificateChain ? Buffer.from(got.CertificateChain) : undefined,
    }),
  );
  return { arn: arn!, id: arn!.split("/").pop()!, certificate: got.Certificate!, chain: got.CertificateChain, csr: Csr! };
}

export interface CsrOptions {
  /** openssl's -newkey: "ec" (P-256, the default), "rsa:2048", … */
  newkey?: string;
  /** Default: /CN=<name>.example.com */
  subject?: string;
  /** A subjectAltName extension, as openssl writes it: "DNS:a.example,IP:10.0.0.7". */
  san?: string;
  /** Default: PEM. */
  outform?: "PEM" | "DER";
}

/** A fresh key (`<dir>/<name>.key`) and its CSR, made by openssl; the CSR's bytes. */
export function opensslCsr(dir: string, name: string, options: CsrOptions = {}): Buffer {
  const newkey = options.newkey ?? "ec";
  const args = ["req", "-new", "-newkey", newkey, "-nodes", "-keyout", join(dir, `${name}.key`)];
  if (newkey === "ec") args.push("-pkeyopt", "ec_paramgen_curve:P-256");
  args.push("-subj", options.subject ?? `/CN=${name}.example.com`);
  if (options.san) args.push("-addext", `subjectAltName=${options.san}`);
  args.push("-outform", options.outform ?? "PEM");
  return execFileSync("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
}
