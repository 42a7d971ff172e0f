/**
 * Key specs keyhold supports, in one frozen table: spec → usages → algorithms per usage → how
 * its material is made and held. It drives CreateKey validation, DescribeKey, GetPublicKey and
 * every cryptographic operation. Specs missing here (SM2, ML-DSA) are refused as unsupported.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";

export type MaterialKind = "aes" | "hmac" | "rsa" | "ec" | "ed25519" | "mldsa";

export interface KeySpecInfo {
  /** The usages this spec allows, each with the algorithms it supports (as DescribeKey lists them). */
  readonly usages: Readonly<Record<string, readonly string[]>>;
  readonly kind: MaterialKind;
  /** Fresh key material: raw bytes for symmetric specs, PKCS#8 DER for key pairs. */
  generate(): Buffer;
  /** Automatic and on-demand rotation apply to this spec. */
  readonly rotatable: boolean;
}

const RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];
const RSA_SIGNING = [
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
];

function pkcs8(pair: { privateKey: { export(o: { type: "pkcs8"; format: "der" }): Buffer } }): Buffer {
  return pair.privateKey.export({ type: "pkcs8", format: "der" });
}

const rsa = (bits: number): KeySpecInfo =>
  Object.freeze({
    usages: Object.freeze({ ENCRYPT_DECRYPT: RSA_ENCRYPTION, SIGN_VERIFY: RSA_SIGNING }),
    kind: "rsa" as const,
    generate: () => pkcs8(generateKeyPairSync("rsa", { modulusLength: bits })),
    rotatable: false,
  });

const ec = (curve: string, signing: string, agreement: boolean): KeySpecInfo =>
  Object.freeze({
    usages: Object.freeze<Record<string, readonly string[]>>(
      agreement ? { SIGN_VERIFY: [signing], KEY_AGREEMENT: ["ECDH"] } : { SIGN_VERIFY: [signing] },
    ),
    kind: "ec" as const,
    generate: () => pkcs8(generateKeyPairSync("ec", { namedCurve: curve })),
    rotatable: false,
  });

const hmac = (bytes: number, algorithm: string): KeySpecInfo =>
  Object.freeze({
    usages: Object.freeze({ GENERATE_VERIFY_MAC: [algorithm] }),
    kind: "hmac" as const,
    generate: () => randomBytes(bytes),
    rotatable: false,
  });

/** ML-DSA material is the 32-byte seed the key pair derives from (src/crypto/ml-dsa.ts). */
const mlDsa = (): KeySpecInfo =>
  Object.freeze({
    usages: Object.freeze({ SIGN_VERIFY: ["ML_DSA_SHAKE_256"] }),
    kind: "mldsa" as const,
    generate: () => randomBytes(32),
    rotatable: false,
  });

export const KEY_SPECS: Readonly<Record<string, KeySpecInfo>> = Object.freeze({
  SYMMETRIC_DEFAULT: Object.freeze({
    usages: Object.freeze({ ENCRYPT_DECRYPT: ["SYMMETRIC_DEFAULT"] }),
    kind: "aes" as const,
    generate: () => randomBytes(32),
    rotatable: true,
  }),
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: ec("prime256v1", "ECDSA_SHA_256", true),
  ECC_NIST_P384: ec("secp384r1", "ECDSA_SHA_384", true),
  ECC_NIST_P521: ec("secp521r1", "ECDSA_SHA_512", true),
  ECC_SECG_P256K1: ec("secp256k1", "ECDSA_SHA_256", false),
  ECC_NIST_EDWARDS25519: Object.freeze({
    usages: Object.freeze({ SIGN_VERIFY: ["ED25519_SHA_512", "ED25519_PH_SHA_512"] }),
    kind: "ed25519" as const,
    generate: () => pkcs8(generateKeyPairSync("ed25519")),
    rotatable: false,
  }),
  ML_DSA_44: mlDsa(),
  ML_DSA_65: mlDsa(),
  ML_DSA_87: mlDsa(),
  HMAC_224: hmac(28, "HMAC_SHA_224"),
  HMAC_256: hmac(32, "HMAC_SHA_256"),
  HMAC_384: hmac(48, "HMAC_SHA_384"),
  HMAC_512: hmac(64, "HMAC_SHA_512"),
});

/** The algorithms a key of this spec and usage supports (empty when none). */
export function algorithmsOf(keySpec: string, keyUsage: string): readonly string[] {
  return KEY_SPECS[keySpec]?.usages[keyUsage] ?? [];
}

/** Every spec the AWS API defines; those missing from KEY_SPECS are refused as unsupported. */
export const ALL_KEY_SPECS = [
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  "ECC_NIST_P521",
  "ECC_SECG_P256K1",
  "SYMMETRIC_DEFAULT",
  "HMAC_224",
  "HMAC_256",
  "HMAC_384",
  "HMAC_512",
  "SM2",
  "ML_DSA_44",
  "ML_DSA_65",
  "ML_DSA_87",
  "ECC_NIST_EDWARDS25519",
] as const;
export const CUSTOMER_MASTER_KEY_SPECS = ALL_KEY_SPECS.filter((s) => !s.startsWith("ML_DSA") && s !== "ECC_NIST_EDWARDS25519");
export const KEY_USAGES = ["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"] as const;
export const ORIGINS = ["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"] as const;
export const ENCRYPTION_ALGORITHMS = ["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"] as const;
export const SIGNING_ALGORITHMS = [
  ...RSA_SIGNING,
  "ECDSA_SHA_256",
  "ECDSA_SHA_384",
  "ECDSA_SHA_512",
  "SM2DSA",
  "ML_DSA_SHAKE_256",
  "ED25519_SHA_512",
  "ED25519_PH_SHA_512",
] as const;
export const MAC_ALGORITHMS = ["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"] as const;
export const DATA_KEY_SPECS: Readonly<Record<string, number>> = Object.freeze({ AES_256: 32, AES_128: 16 });
/** Key pair specs GenerateDataKeyPair can make: those of KEY_SPECS with a key pair. */
export const DATA_KEY_PAIR_SPECS = [
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  "ECC_NIST_P521",
  "ECC_SECG_P256K1",
  "SM2",
  "ECC_NIST_EDWARDS25519",
] as const;
