/**
 * A private CA made in the test, for the OCSP responder's tests: a self-signed CA certificate, leaf
 * certificates, and a delegated OCSP signing certificate (extendedKeyUsage OCSPSigning and
 * id-pkix-ocsp-nocheck), all from @peculiar/x509 over node:crypto, and a CertificateStatusSource
 * over a map of statuses that records what it was asked.
 */
import { createPrivateKey, KeyObject, sign, webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
// tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { CertificateStatusSource } from "../src/acmpca/ocsp.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type FixtureStatus = { status: "good" } | { status: "revoked"; revokedAt: Date; reason: string };

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const RSA = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };

export interface FixtureCa {
  id: string;
  caPem: string;
  caDer: Buffer;
  /** PEM files written in `dir`: ca.pem and one per leaf (`<name>.pem`). */
  files: Record<string, string>;
  statuses: Map<string, FixtureStatus>;
  /** Serials (hex) the source was asked about, in order. */
  asked: string[];
  authority: { status: string; ocspEnabled: boolean };
  /** When set, status() throws it (the store is down). */
  failWith?: Error;
  source: CertificateStatusSource;
  leaf(name: string, serialHex: string): Promise<Buffer>;
}

function pem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, "CERTIFICATE");
}

export async function makeFixtureCa(
  dir: string,
  id: string,
  kind: "ec" | "rsa" = "ec",
  name = "CN=keyhold OCSP test CA",
): Promise<FixtureCa> {
  const alg = kind === "ec" ? EC : RSA;
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 86400_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (subject: string, serialNumber: string, extensions: x509.Extension[], keyAlg: typeof EC | typeof RSA = EC) => {
    const keys = (await webcrypto.subtle.generateKey(keyAlg, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(false), await x509.AuthorityKeyIdentifierExtension.create(ca), ...extensions],
    });
    return { cert, keys };
  };
  const responder = await issue(
    "CN=keyhold OCSP responder",
    "7e57",
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.9"]),
      // id-pkix-ocsp-nocheck: NULL.
      new x509.Extension("1.3.6.1.5.5.7.48.1.5", false, new Uint8Array([5, 0])),
    ],
    alg,
  );
  const responderKey: KeyObject = KeyObject.from(responder.keys.privateKey as unknown as webcrypto.CryptoKey);
  // Through PKCS#8 so node:crypto signs with it like any private key.
  const signingKey = createPrivateKey({ key: responderKey.export({ format: "der", type: "pkcs8" }), format: "der", type: "pkcs8" });

  const caDer = Buffer.from(ca.rawData);
  const files: Record<string, string> = { ca: join(dir, `${id}-ca.pem`) };
  writeFileSync(files.ca!, ca.toString("pem") + "\n");
  const fixture: FixtureCa = {
    id,
    caPem: ca.toString("pem"),
    caDer,
    files,
    statuses: new Map(),
    asked: [],
    authority: { status: "ACTIVE", ocspEnabled: true },
    source: {
      authority: async (caId) =>
        caId === id
          ? { arn: `arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/${id}`, certificateDer: caDer, ...fixture.authority }
          : undefined,
      status: async (caId, serialHex) => {
        if (fixture.failWith) throw fixture.failWith;
        fixture.asked.push(serialHex);
        return (caId === id && fixture.statuses.get(serialHex)) || { status: "unknown" };
      },
      responder: async () => ({
        certificateDer: Buffer.from(responder.cert.rawData),
        sign: async (tbs) => sign("sha256", tbs, signingKey),
        signatureAlgorithmOid: kind === "ec" ? "1.2.840.10045.4.3.2" : "1.2.840.113549.1.1.11",
      }),
    },
    async leaf(leafName: string, serialHex: string): Promise<Buffer> {
      const { cert } = await issue(`CN=${leafName}`, serialHex, [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.1"]),
      ]);
      files[leafName] = join(dir, `${id}-${leafName}.pem`);
      writeFileSync(files[leafName]!, pem(cert.rawData) + "\n");
      return Buffer.from(cert.rawData);
    },
  };
  return fixture;
}
