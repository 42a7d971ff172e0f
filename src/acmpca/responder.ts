/** The CA's delegated OCSP signing certificate (RFC 6960 §4.2.2.2), made on demand and kept in memory by the issuer. */
import { createSecretKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x509 from "@peculiar/asn1-x509";
import { publicKeyDer, signMessage } from "../crypto/asymmetric.js";
import { isMlDsa, mlDsaPublicKeyDer, mlDsaSign, newMlDsaSeed } from "../crypto/ml-dsa.js";
import type { AcmPcaService, Authority } from "./service.js";
import { EKU, KEY_USAGE_BITS } from "./templates.js";
import {
  certificateFacts,
  extension,
  keyIdentifier,
  OID,
  rawExtension,
  SIGNING_ALGORITHMS,
  signCertificate,
  toArrayBuffer,
} from "./x509.js";

const generateKeyPairAsync = promisify(generateKeyPair);
const HOUR_MS = 3_600_000;
/** id-pkix-ocsp-nocheck: clients need not check the responder certificate's own revocation. */
const OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5";

export async function makeResponder(
  pca: AcmPcaService,
  ca: Authority,
): Promise<{ certificateDer: Buffer; sign(tbs: Buffer): Buffer; renewAt: number }> {
  const body = ca.body;
  const keyAlgorithm = body.configuration.KeyAlgorithm;
  const { spki, sign } = await responderKey(keyAlgorithm, body.configuration.SigningAlgorithm);
  const caCert = certificateFacts(Buffer.from(body.certificate!, "base64"))!;
  const now = pca.clock.now();
  const notBefore = new Date(now - HOUR_MS);
  const notAfter = new Date(Math.min(now + 24 * HOUR_MS, caCert.notAfter.getTime()));
  const der = await signCertificate(
    {
      serial: pca.newSerial(),
      signingAlgorithm: body.configuration.SigningAlgorithm,
      issuer: AsnConvert.parse(caCert.subjectDer, x509.Name),
      subject: AsnConvert.parse(caCert.subjectDer, x509.Name),
      notBefore,
      notAfter,
      spkiDer: spki,
      extensions: [
        extension(OID.basicConstraints, true, new x509.BasicConstraints({ cA: false })),
        extension(OID.subjectKeyIdentifier, false, new x509.SubjectKeyIdentifier(toArrayBuffer(keyIdentifier(spki)))),
        extension(
          OID.authorityKeyIdentifier,
          false,
          new x509.AuthorityKeyIdentifier({ keyIdentifier: new x509.KeyIdentifier(toArrayBuffer(keyIdentifier(caCert.spkiDer))) }),
        ),
        extension(OID.keyUsage, true, new x509.KeyUsage(KEY_USAGE_BITS.digitalSignature)),
        extension(OID.extKeyUsage, true, new x509.ExtendedKeyUsage([EKU.OCSP_SIGNING])),
        rawExtension(OCSP_NOCHECK, false, Buffer.from([0x05, 0x00])),
      ],
    },
    pca.signer(body),
  );
  return { certificateDer: der, sign, renewAt: now + 12 * HOUR_MS };
}

/** The responder's own key pair, of the CA's key algorithm (an ML-DSA CA's responder signs with the same parameter set). */
async function responderKey(keyAlgorithm: string, signingAlgorithm: string): Promise<{ spki: Buffer; sign(tbs: Buffer): Buffer }> {
  if (isMlDsa(keyAlgorithm)) {
    const material = newMlDsaSeed();
    const seed = createSecretKey(material);
    material.fill(0);
    return { spki: mlDsaPublicKeyDer(keyAlgorithm, seed), sign: (tbs) => mlDsaSign(keyAlgorithm, seed, tbs, false) };
  }
  const key: KeyObject = keyAlgorithm.startsWith("RSA")
    ? (await generateKeyPairAsync("rsa", { modulusLength: 2048 })).privateKey
    : (await generateKeyPairAsync("ec", { namedCurve: curveOf(keyAlgorithm) })).privateKey;
  const kmsAlgorithm = SIGNING_ALGORITHMS[signingAlgorithm]!.kms;
  return { spki: publicKeyDer(key), sign: (tbs) => signMessage(kmsAlgorithm, key, tbs) };
}

function curveOf(keyAlgorithm: string): string {
  return keyAlgorithm === "EC_secp384r1" ? "secp384r1" : keyAlgorithm === "EC_secp521r1" ? "secp521r1" : "prime256v1";
}
