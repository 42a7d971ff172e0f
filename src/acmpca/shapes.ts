/** Input shapes shared by the operations, with the bounds of the ACM PCA model (2017-08-22). */
import { bool, enumOf, int, list, str, struct, type Schema } from "../validation/schema.js";

/** Arn: arn:…:acm-pca:<region>:<account>:certificate-authority/<id>[/certificate/<id>], 5–200. */
export const Arn = str({ min: 5, max: 200, pattern: /^arn:[\w+=/,.@-]+:acm-pca:[\w+=/,.@-]*:[0-9]*:[\w+=,.@-]+(\/[\w+=,.@-]+)*$/ });
export const IdempotencyToken = str({ min: 1, max: 36, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]*$/ });
const CustomObjectIdentifier = str({ min: 0, max: 64, pattern: /^([0-2])\.([0-9]|([0-3][0-9]))((\.([0-9]+)){0,126})$/ });
const Printable64 = str({ min: 0, max: 64, pattern: /^[a-zA-Z0-9'()+\-.?:/= ]*$/ });

export const Asn1Subject: Schema = struct({
  Country: str({ min: 2, max: 2, pattern: /^[A-Za-z]{2}$/ }),
  Organization: str({ max: 64 }),
  OrganizationalUnit: str({ max: 64 }),
  DistinguishedNameQualifier: Printable64,
  State: str({ max: 128 }),
  CommonName: str({ max: 64 }),
  SerialNumber: Printable64,
  Locality: str({ max: 128 }),
  Title: str({ max: 64 }),
  Surname: str({ max: 40 }),
  GivenName: str({ max: 16 }),
  Initials: str({ max: 5 }),
  Pseudonym: str({ max: 128 }),
  GenerationQualifier: str({ max: 3 }),
  CustomAttributes: list(
    struct({ ObjectIdentifier: CustomObjectIdentifier, Value: str({ min: 1, max: 256 }) }, ["ObjectIdentifier", "Value"]),
    {
      min: 1,
      max: 150,
    },
  ),
});

export const KeyUsageShape = struct({
  DigitalSignature: bool(),
  NonRepudiation: bool(),
  KeyEncipherment: bool(),
  DataEncipherment: bool(),
  KeyAgreement: bool(),
  KeyCertSign: bool(),
  CRLSign: bool(),
  EncipherOnly: bool(),
  DecipherOnly: bool(),
});

export const GeneralName: Schema = struct({
  OtherName: struct({ TypeId: CustomObjectIdentifier, Value: str({ max: 256 }) }, ["TypeId", "Value"]),
  Rfc822Name: str({ max: 256 }),
  DnsName: str({ max: 253 }),
  DirectoryName: Asn1Subject,
  EdiPartyName: struct({ PartyName: str({ max: 256 }), NameAssigner: str({ max: 256 }) }, ["PartyName"]),
  UniformResourceIdentifier: str({ max: 253 }),
  IpAddress: str({ max: 39 }),
  RegisteredId: CustomObjectIdentifier,
});

export const KEY_ALGORITHMS = [
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "EC_prime256v1",
  "EC_secp384r1",
  "EC_secp521r1",
  "ML_DSA_44",
  "ML_DSA_65",
  "ML_DSA_87",
  "SM2",
];
export const SIGNING_ALGORITHM_NAMES = [
  "SHA256WITHECDSA",
  "SHA384WITHECDSA",
  "SHA512WITHECDSA",
  "SHA256WITHRSA",
  "SHA384WITHRSA",
  "SHA512WITHRSA",
  "SM3WITHSM2",
  "ML_DSA_44",
  "ML_DSA_65",
  "ML_DSA_87",
];
export const SigningAlgorithm = enumOf(SIGNING_ALGORITHM_NAMES);

export const CertificateAuthorityConfiguration = struct(
  {
    KeyAlgorithm: enumOf(KEY_ALGORITHMS),
    SigningAlgorithm,
    Subject: Asn1Subject,
    CsrExtensions: struct({
      KeyUsage: KeyUsageShape,
      SubjectInformationAccess: list(
        struct(
          {
            AccessMethod: struct({
              CustomObjectIdentifier,
              AccessMethodType: enumOf(["CA_REPOSITORY", "RESOURCE_PKI_MANIFEST", "RESOURCE_PKI_NOTIFY"]),
            }),
            AccessLocation: GeneralName,
          },
          ["AccessMethod", "AccessLocation"],
        ),
      ),
    }),
  },
  ["KeyAlgorithm", "SigningAlgorithm", "Subject"],
);

const Cname = str({ max: 253, pattern: /^[-a-zA-Z0-9;/?:@&=+$,%_.!~*()']*$/ });
export const RevocationConfiguration = struct({
  CrlConfiguration: struct(
    {
      Enabled: bool(),
      ExpirationInDays: int({ min: 1, max: 5000 }),
      CustomCname: Cname,
      S3BucketName: str({ min: 3, max: 255, pattern: /^[-a-zA-Z0-9._/]+$/ }),
      S3ObjectAcl: enumOf(["PUBLIC_READ", "BUCKET_OWNER_FULL_CONTROL"]),
      CrlDistributionPointExtensionConfiguration: struct({ OmitExtension: bool() }, ["OmitExtension"]),
      CrlType: enumOf(["COMPLETE", "PARTITIONED"]),
      CustomPath: str({ max: 253, pattern: /^[-a-zA-Z0-9;?:@&=+$,%_.!~*()']+(\/[-a-zA-Z0-9;?:@&=+$,%_.!~*()']+)*$/ }),
    },
    ["Enabled"],
  ),
  OcspConfiguration: struct({ Enabled: bool(), OcspCustomCname: Cname }, ["Enabled"]),
});

const TagKey = str({ min: 1, max: 128, pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u });
const TagValue = str({ min: 0, max: 256, pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u });
export const Tags = list(struct({ Key: TagKey, Value: TagValue }, ["Key"]), { min: 1, max: 50 });

export const Validity = struct(
  { Value: int({ min: 1, max: Number.MAX_SAFE_INTEGER }), Type: enumOf(["END_DATE", "ABSOLUTE", "DAYS", "MONTHS", "YEARS"]) },
  ["Value", "Type"],
);

export const RevocationReason = enumOf([
  "UNSPECIFIED",
  "KEY_COMPROMISE",
  "CERTIFICATE_AUTHORITY_COMPROMISE",
  "AFFILIATION_CHANGED",
  "SUPERSEDED",
  "CESSATION_OF_OPERATION",
  "PRIVILEGE_WITHDRAWN",
  "A_A_COMPROMISE",
]);

export const Actions = list(enumOf(["IssueCertificate", "GetCertificate", "ListPermissions"]), { min: 1, max: 3 });
export const Principal = str({ min: 0, max: 128, pattern: /^[^*]+$/ });
export const AccountId = str({ min: 12, max: 12, pattern: /^[0-9]+$/ });
export const NextToken = str({ min: 1, max: 43739 });
export const MaxResults = int({ min: 1, max: 1000 });
export const AWSPolicy = str({ min: 1, max: 20480 });
