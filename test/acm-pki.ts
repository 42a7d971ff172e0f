/**
 * A small PKI for the ACM tests: a CA (root, optionally with an intermediate) that makes leaf
 * certificates to import, and a PrivateCertificateIssuer that signs ACM's CSRs with it, standing in
 * for keyhold's private CA where a test is about ACM rather than the CA.
 */
import "reflect-metadata";
import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { CallContext } from "../src/call.js";
import type { Clock } from "../src/clock.js";
import { ServiceError } from "../src/errors.js";
import type { IssuedCertificate, PrivateCertificateIssuer } from "../src/acm/issuer.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY = 86_400_000;
export const RSA = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
export const P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

const serial = () =>
  randomBytes(16)
    .toString("hex")
    .replace(/^[89a-f]/, "1");

export interface Authority {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export async function makeCa(name = "keyhold test CA", now = Date.now(), issuer?: Authority): Promise<Authority> {
  const keys = (await webcrypto.subtle.generateKey(P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const common = {
    serialNumber: serial(),
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, issuer ? 0 : 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  };
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: `CN=${name}`,
        issuer: issuer.cert.subject,
        signingKey: issuer.keys.privateKey,
        publicKey: keys.publicKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${name}`, keys });
  return { cert, keys, pem: cert.toString("pem") + "\n" };
}

export interface Leaf {
  cert: x509.X509Certificate;
  certPem: string;
  keyPem: string;
  /** The same key as PKCS#1 / SEC 1 ("RSA PRIVATE KEY" / "EC PRIVATE KEY"), as OpenSSL writes it. */
  traditionalKeyPem: string;
}

export async function makeLeaf(
  ca: Authority,
  options: {
    cn?: string;
    sans?: string[];
    algorithm?: typeof RSA | typeof P256;
    notBefore?: number;
    notAfter?: number;
    clientAuth?: boolean;
  } = {},
): Promise<Leaf> {
  const algorithm = options.algorithm ?? RSA;
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cn = options.cn ?? "service.example.com";
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(options.notBefore ?? now - DAY),
    notAfter: new Date(options.notAfter ?? now + 90 * DAY),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(options.clientAuth ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension((options.sans ?? [cn]).map((value) => ({ type: "dns" as const, value }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return {
    cert,
    certPem: cert.toString("pem") + "\n",
    keyPem: key.export({ type: "pkcs8", format: "pem" }) as string,
    traditionalKeyPem: key.export({ type: key.asymmetricKeyType === "rsa" ? "pkcs1" : "sec1", format: "pem" }) as string,
  };
}

/** Signs ACM's CSRs with a test CA: a stand-in for keyhold's private CA, for ACM's own tests. */
export class TestIssuer implements PrivateCertificateIssuer {
  readonly issued: { arn: string; serialHex: string; names: string[] }[] = [];
  constructor(
    readonly ca: Authority,
    readonly caArn: string,
    private readonly clock: Clock,
  ) {}

  async issue(
    _call: CallContext,
    request: { certificateAuthorityArn: string; csrDer: Buffer; validityDays: number },
  ): Promise<IssuedCertificate> {
    if (request.certificateAuthorityArn !== this.caArn)
      throw new ServiceError("ResourceNotFoundException", `Could not find certificate authority ${request.certificateAuthorityArn}.`);
    const csr = new x509.Pkcs10CertificateRequest(new Uint8Array(request.csrDer));
    if (!(await csr.verify())) throw new ServiceError("ValidationException", "The CSR's signature does not verify.");
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    const now = this.clock.now();
    const serialHex = serial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialHex,
      subject: csr.subject,
      issuer: this.ca.cert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + request.validityDays * DAY),
      signingKey: this.ca.keys.privateKey,
      publicKey: csr.publicKey,
      signingAlgorithm: P256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        ...(san ? [san] : []),
      ],
    });
    this.issued.push({ arn: request.certificateAuthorityArn, serialHex, names: san?.names.items.map((n) => n.value) ?? [] });
    return {
      certificatePem: cert.toString("pem") + "\n",
      chainPem: this.ca.pem,
      serialHex,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    };
  }

  async revoke(): Promise<void> {}
}
