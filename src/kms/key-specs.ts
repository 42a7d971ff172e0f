/**
 * Key specs keyhold supports, in one frozen table: spec → allowed usages → algorithms.
 * It drives CreateKey validation and DescribeKey. Asymmetric and HMAC specs join this table
 * with their own operations.
 */
export interface KeySpecInfo {
  readonly usages: readonly string[];
  readonly encryptionAlgorithms?: readonly string[];
  /** Length of the key material in bytes, for specs whose material keyhold generates as random bytes. */
  readonly materialLength: number;
  /** Automatic and on-demand rotation apply to this spec. */
  readonly rotatable: boolean;
}

export const KEY_SPECS: Readonly<Record<string, KeySpecInfo>> = Object.freeze({
  SYMMETRIC_DEFAULT: Object.freeze({
    usages: Object.freeze(["ENCRYPT_DECRYPT"]),
    encryptionAlgorithms: Object.freeze(["SYMMETRIC_DEFAULT"]),
    materialLength: 32,
    rotatable: true,
  }),
});

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
export const DATA_KEY_SPECS: Readonly<Record<string, number>> = Object.freeze({ AES_256: 32, AES_128: 16 });
