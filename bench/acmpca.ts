/**
 * `node dist/bench/acmpca.js`: IssueCertificate of an EC P-256 end-entity certificate
 * (EndEntityCertificate/V1, from an EC P-256 root) against keyhold (one process), and in the same
 * run a bare loop in this process that parses and checks the same CSR and builds and signs the
 * same certificate with the same code (src/acmpca/x509.ts, node:crypto). Prints certificates/s
 * and the ratio keyhold/bare (the goal: at least 0.5).
 *
 * What keyhold does beyond the bare loop is what makes it ACM PCA: SigV4, the CA's lookup and
 * authorization, storing the certificate durably before answering, and the audit event.
 * BENCH_SECONDS (default 5) and BENCH_CONNECTIONS (default 8) set the load.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/asn1-x509";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { activateCa, caInput, opensslCsr } from "../test/pca-fixture.js";
import { chooseLoadRunner } from "./load.js";
import { ACCESS_KEY_ID, SECRET, runBench, signedBytes, startKeyhold } from "./servers.js";
import { publicKeyDer, signMessage } from "../src/crypto/asymmetric.js";
import { extension, keyIdentifier, OID, parseCsr, signCertificate, subjectName, toArrayBuffer } from "../src/acmpca/x509.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);

/** A serial as keyhold makes it: 16 random bytes, positive, first byte non-zero. */
function serial(): Buffer {
  const s = randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x01;
  return s;
}

/** The bare side: what IssueCertificate computes, with nothing around it. */
async function bare(csrDer: Buffer, seconds: number): Promise<number> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const caSpki = publicKeyDer(privateKey);
  const issuer = subjectName({ CommonName: "bench root" });
  // What belongs to the CA is made once, as keyhold makes it once per CA.
  const aki = extension(
    OID.authorityKeyIdentifier,
    false,
    new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(toArrayBuffer(keyIdentifier(caSpki))) }),
  );
  const sign = (tbs: Buffer) => signMessage("ECDSA_SHA_256", privateKey, tbs);
  let n = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const csr = parseCsr(csrDer)!;
    const now = Date.now();
    const san = csr.extensions.find((e) => e.extnID === OID.subjectAltName)!;
    await signCertificate(
      {
        serial: serial(),
        signingAlgorithm: "SHA256WITHECDSA",
        issuer,
        subject: csr.subject,
        notBefore: new Date(now - 3_600_000),
        notAfter: new Date(now + 30 * 86_400_000),
        spkiDer: csr.spkiDer,
        extensions: [
          extension(OID.basicConstraints, true, new x509.BasicConstraints({ cA: false })),
          extension(OID.subjectKeyIdentifier, false, new x509.SubjectKeyIdentifier(toArrayBuffer(keyIdentifier(csr.spkiDer)))),
          aki,
          extension(OID.keyUsage, true, new x509.KeyUsage(5)),
          extension(OID.extKeyUsage, false, new x509.ExtendedKeyUsage(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])),
          san,
        ],
      },
      sign,
    );
    n++;
  }
  return n / seconds;
}

async function main(): Promise<void> {
  const keyDir = mkdtempSync(join(tmpdir(), "keyhold-bench-pca-"));
  const csr = opensslCsr(keyDir, "bench", { subject: "/CN=bench.internal", san: "DNS:bench.internal", outform: "DER" });
  rmSync(keyDir, { recursive: true });
  const keyhold = await startKeyhold(["--workers", "1"]);
  try {
    const endpoint = `http://127.0.0.1:${keyhold.port}`;
    const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
    const pca = new ACMPCAClient({ endpoint, region: "us-east-1", credentials });
    const { arn } = await activateCa(pca, caInput("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "bench root"));
    pca.destroy();
    const body = JSON.stringify({
      CertificateAuthorityArn: arn,
      Csr: csr.toString("base64"),
      SigningAlgorithm: "SHA256WITHECDSA",
      Validity: { Type: "DAYS", Value: 30 },
    });
    const request = await signedBytes(keyhold.port, "IssueCertificate", body, credentials, {
      signingName: "acm-pca",
      targetPrefix: "ACMPrivateCA",
    });
    const runner = chooseLoadRunner();
    // Alternating halves, so background load on a shared machine falls on both sides alike.
    const k1 = await runner.run("127.0.0.1", keyhold.port, request, CONNECTIONS, SECONDS / 2);
    const b1 = await bare(csr, SECONDS / 2);
    const k2 = await runner.run("127.0.0.1", keyhold.port, request, CONNECTIONS, SECONDS / 2);
    const b2 = await bare(csr, SECONDS / 2);
    const k = (k1.requests + k2.requests) / (k1.seconds + k2.seconds);
    const b = (b1 + b2) / 2;
    const errors = k1.errors + k2.errors;
    process.stdout.write(
      `IssueCertificate, EC P-256 leaf from an EC P-256 root, ${CONNECTIONS} connections, ${SECONDS} s each side, node ${process.version}, load from ${runner.name}\n` +
        `keyhold (1 process): ${k.toFixed(0)} certificates/s (p50 ${k1.p50ms.toFixed(2)} ms, p99 ${k1.p99ms.toFixed(2)} ms, ${errors} errors)\n` +
        `bare (same code, in process): ${b.toFixed(0)} certificates/s\nratio keyhold/bare: ${(k / b).toFixed(2)}\n`,
    );
  } finally {
    await keyhold.stop();
  }
}

runBench(main);
