/**
 * The certificate keyhold serves HTTPS with: the operator's (KEYHOLD_TLS_CERT / KEYHOLD_TLS_KEY),
 * or one made at first start under <data-dir>/tls: a local CA (its certificate in ca.pem, for
 * `aws --ca-bundle` and the SDKs; its private key discarded once it has signed) and a server
 * certificate for localhost, *.localhost (virtual-host buckets), 127.0.0.1, ::1 and the host
 * keyhold listens on. ECDSA P-256 keys from WebCrypto, certificates via @peculiar/x509.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { randomBytes, webcrypto } from "node:crypto";
import type { TlsIdentity } from "./server.js";

export interface TlsFiles extends TlsIdentity {
  /** The CA certificate file clients trust, when keyhold made the certificate. */
  caFile?: string;
}

export interface TlsSource {
  dataDir: string;
  host: string;
  certFile?: string;
  keyFile?: string;
}

const VALID_DAYS = 825;

export async function loadTls(source: TlsSource, now: number = Date.now()): Promise<TlsFiles> {
  if (source.certFile !== undefined || source.keyFile !== undefined) {
    if (source.certFile === undefined || source.keyFile === undefined) throw new Error("KEYHOLD_TLS_CERT and KEYHOLD_TLS_KEY go together");
    return { cert: readFileSync(source.certFile, "utf8"), key: readFileSync(source.keyFile, "utf8") };
  }
  const dir = join(source.dataDir, "tls");
  const files = { caFile: join(dir, "ca.pem"), certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made = await generate(source.host, now);
    writeFileSync(files.caFile, made.ca, { mode: 0o644 });
    writeFileSync(files.keyFile, made.key, { mode: 0o600 });
    // The certificate last: its presence says the set is complete.
    writeFileSync(files.certFile, made.cert, { mode: 0o644 });
  }
  return { cert: readFileSync(files.certFile, "utf8"), key: readFileSync(files.keyFile, "utf8"), caFile: files.caFile };
}

async function generate(host: string, now: number): Promise<{ ca: string; cert: string; key: string }> {
  // tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API loaded first.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + VALID_DAYS * 86_400_000);
  const serial = () =>
    randomBytes(16)
      .toString("hex")
      .replace(/^[89a-f]/, "1");
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const caName = `CN=keyhold local CA ${randomBytes(4).toString("hex")}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const names: { type: "dns" | "ip"; value: string }[] = [
    { type: "dns", value: "localhost" },
    { type: "dns", value: "*.localhost" },
    { type: "dns", value: "*.s3.localhost" },
    { type: "ip", value: "127.0.0.1" },
    { type: "ip", value: "::1" },
  ];
  if (host !== "0.0.0.0" && host !== "::" && !names.some((n) => n.value === host))
    names.push({ type: isIP(host) ? "ip" : "dns", value: host });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`.replace(
    "\n\n",
    "\n",
  );
  return { ca: ca.toString("pem") + "\n", cert: cert.toString("pem") + "\n", key };
}
