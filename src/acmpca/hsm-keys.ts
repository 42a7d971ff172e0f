/**
 * Private CA keys inside keyhold's HSM (the PKCS#11 token that holds its root of trust, when one
 * is configured): the key pair is generated in the token, the private key never extractable, and
 * every signature of the CA (CSR, certificates, CRLs) is made there. keyhold keeps only the key's
 * label and CKA_ID and its public key. RSA signs with CKM_SHA*_RSA_PKCS over the message; ECDSA
 * with CKM_ECDSA over the digest node:crypto computes, the token's r|s turned into the DER
 * X.509 wants. docs/private-ca.md, "A CA's key".
 */
import { createHash } from "node:crypto";
import pkcs11js from "pkcs11js";
import { ServiceError } from "../errors.js";
import { TokenError, type SigningKeyAlgorithm, type Token } from "../hsm/token.js";
import type { Signer } from "./x509.js";

/** The CA key algorithms a PKCS#11 v2.40 token generates (ML-DSA has no mechanism there). */
const ALGORITHMS: Readonly<Record<string, SigningKeyAlgorithm>> = Object.freeze({
  RSA_2048: { kind: "rsa", bits: 2048 },
  RSA_3072: { kind: "rsa", bits: 3072 },
  RSA_4096: { kind: "rsa", bits: 4096 },
  EC_prime256v1: { kind: "ec", curve: "P-256" },
  EC_secp384r1: { kind: "ec", curve: "P-384" },
  EC_secp521r1: { kind: "ec", curve: "P-521" },
});

/** SigningAlgorithm → the token mechanism, and for ECDSA the digest keyhold computes first. */
const MECHANISMS: Readonly<Record<string, { mechanism: number; digest?: string }>> = Object.freeze({
  SHA256WITHRSA: { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS },
  SHA384WITHRSA: { mechanism: pkcs11js.CKM_SHA384_RSA_PKCS },
  SHA512WITHRSA: { mechanism: pkcs11js.CKM_SHA512_RSA_PKCS },
  SHA256WITHECDSA: { mechanism: pkcs11js.CKM_ECDSA, digest: "sha256" },
  SHA384WITHECDSA: { mechanism: pkcs11js.CKM_ECDSA, digest: "sha384" },
  SHA512WITHECDSA: { mechanism: pkcs11js.CKM_ECDSA, digest: "sha512" },
});

/** Where a CA's key is in the token: its label and CKA_ID (hex). */
export interface HsmKeyRef {
  label: string;
  id: string;
}

export class HsmCaKeys {
  constructor(private readonly token: Token) {}

  /** Whether a CA of this KeyAlgorithm can have its key in the token. */
  supports(keyAlgorithm: string): boolean {
    return keyAlgorithm in ALGORITHMS;
  }

  /** Generates the CA's key pair in the token: label `keyhold:acm-pca:<ca-id>`, CKA_ID the CA id's 16 bytes. */
  async generate(caId: string, keyAlgorithm: string): Promise<{ ref: HsmKeyRef; spki: Buffer }> {
    const ref = { label: `keyhold:acm-pca:${caId}`, id: caId.replace(/-/g, "") };
    try {
      const { spki } = await this.token.generateSigningKeyPair(ref.label, Buffer.from(ref.id, "hex"), ALGORITHMS[keyAlgorithm]!);
      return { ref, spki };
    } catch (error) {
      throw unavailable(error);
    }
  }

  signer(ref: HsmKeyRef, signingAlgorithm: string): Signer {
    const { mechanism, digest } = MECHANISMS[signingAlgorithm]!;
    const key = { label: ref.label, id: Buffer.from(ref.id, "hex") };
    return async (tbs) => {
      try {
        if (!digest) return await this.token.sign(key, mechanism, tbs);
        return ecdsaDer(await this.token.sign(key, mechanism, createHash(digest).update(tbs).digest()));
      } catch (error) {
        throw unavailable(error);
      }
    };
  }

  async destroy(ref: HsmKeyRef): Promise<void> {
    await this.token.destroyKeyPair(ref.label);
  }

  close(): Promise<void> {
    return this.token.close();
  }
}

/** A token that fails is keyhold's fault, not the caller's: a 500 whose message names no secret. */
function unavailable(error: unknown): Error {
  if (error instanceof TokenError) return new Error(`the HSM holding the CA's key: ${error.message} (${error.code})`);
  return error instanceof Error ? error : new Error(String(error));
}

/** PKCS#11 ECDSA's r|s (two equal halves) as the DER SEQUENCE { INTEGER r, INTEGER s } of X.509. */
export function ecdsaDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const integer = (bytes: Buffer) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = bytes[i]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes.subarray(i)]) : bytes.subarray(i);
    return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
  };
  const content = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
}

function derLength(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
}

/** The CA's key is in an HSM this server did not open (started without --hsm-module). */
export function noHsm(arn: string): ServiceError {
  return new ServiceError(
    "InvalidStateException",
    `The private key of the certificate authority ${arn} is in an HSM that this keyhold server has not opened (--hsm-module).`,
  );
}
