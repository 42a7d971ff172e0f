/**
 * The closed list of error codes keyhold can put on the wire, each with its HTTP status and the
 * message used when the thrower has nothing more specific to say. Only the protocol adapters
 * render these (JSON `__type`, later S3's XML); operations throw them.
 *
 * A `ServiceError` is a user error: 4xx, no stack in logs, no alarm. Anything else that escapes
 * an operation is an internal fault, logged with its stack and answered with a bare 500.
 */
export const ERROR_CODES = {
  // Authentication and protocol (shared by every JSON service).
  MissingAuthenticationTokenException: { status: 400, message: "Missing Authentication Token" },
  IncompleteSignatureException: { status: 400, message: "The request signature is incomplete." },
  InvalidSignatureException: {
    status: 400,
    message: "The request signature we calculated does not match the signature you provided.",
  },
  UnrecognizedClientException: {
    status: 400,
    message: "The security token included in the request is invalid.",
  },
  AccessDeniedException: { status: 400, message: "Access denied." },
  SerializationException: { status: 400, message: "The request body could not be parsed." },
  ValidationException: { status: 400, message: "The request failed validation." },
  UnknownOperationException: { status: 400, message: "The requested operation is not recognized." },
  RequestEntityTooLargeException: { status: 413, message: "The request body is too large." },
  ExpiredTokenException: { status: 400, message: "The security token included in the request is expired." },
  InternalFailure: { status: 500, message: "An internal error occurred." },
  // The Query protocol's names for the same failures (IAM, STS).
  MissingAuthenticationToken: { status: 403, message: "Missing Authentication Token" },
  IncompleteSignature: { status: 400, message: "The request signature is incomplete." },
  SignatureDoesNotMatch: {
    status: 403,
    message: "The request signature we calculated does not match the signature you provided.",
  },
  InvalidClientTokenId: { status: 403, message: "The security token included in the request is invalid." },
  ExpiredToken: { status: 400, message: "The security token included in the request is expired." },
  AccessDenied: { status: 403, message: "Access denied." },
  ValidationError: { status: 400, message: "The request failed validation." },
  MalformedInput: { status: 400, message: "The request could not be parsed." },
  InvalidAction: { status: 400, message: "The action is not valid for this web service." },
  // IAM and STS.
  NoSuchEntity: { status: 404, message: "The entity cannot be found." },
  EntityAlreadyExists: { status: 409, message: "The entity already exists." },
  DeleteConflict: { status: 409, message: "The entity cannot be deleted while it has subordinate entities." },
  MalformedPolicyDocument: { status: 400, message: "The policy document is malformed." },
  LimitExceeded: { status: 409, message: "A limit was exceeded." },
  ConcurrentModification: { status: 409, message: "The entity was changed by another request; try again." },
  PasswordPolicyViolation: { status: 400, message: "The password does not meet the account password policy." },
  EntityTemporarilyUnmodifiable: { status: 409, message: "The entity cannot be changed now; try again later." },
  InvalidUserType: { status: 400, message: "The type of user for the transaction was incorrect." },
  // KMS.
  AlreadyExistsException: { status: 400, message: "The resource already exists." },
  ConflictException: { status: 400, message: "The request conflicts with the resource's state." },
  CustomKeyStoreNotFoundException: { status: 400, message: "The custom key store was not found." },
  // Custom key stores (CloudHSM-style clusters of PKCS#11 tokens), in the KMS model's names.
  CustomKeyStoreInvalidStateException: {
    status: 400,
    message: "The connection state of the custom key store does not allow this operation.",
  },
  CustomKeyStoreNameInUseException: { status: 400, message: "The custom key store name is already in use in this account and Region." },
  CustomKeyStoreHasCMKsException: { status: 400, message: "The custom key store still has KMS keys; delete them first." },
  CloudHsmClusterNotFoundException: { status: 400, message: "No HSM cluster with this id is registered in this account." },
  CloudHsmClusterInUseException: { status: 400, message: "The HSM cluster is already associated with a custom key store." },
  CloudHsmClusterNotRelatedException: { status: 400, message: "The HSM cluster does not share the original cluster's key lineage." },
  CloudHsmClusterInvalidConfigurationException: {
    status: 400,
    message: "The HSM cluster does not meet the custom key store's requirements.",
  },
  IncorrectTrustAnchorException: {
    status: 400,
    message: "The trust anchor certificate is not the one the HSM cluster was initialized with.",
  },
  // CloudHSM V2 (DescribeClusters, read-only).
  CloudHsmInvalidRequestException: { status: 400, message: "The request is not valid for CloudHSM." },
  CloudHsmInternalFailureException: { status: 500, message: "An internal error occurred." },
  DisabledException: { status: 400, message: "The KMS key is disabled." },
  DryRunOperationException: {
    status: 412,
    message: "The request would have succeeded, but the DryRun option is set.",
  },
  IncorrectKeyException: {
    status: 400,
    message: "The key ID in the request does not identify the KMS key used to encrypt the ciphertext.",
  },
  InvalidAliasNameException: { status: 400, message: "The alias name is not valid." },
  InvalidArnException: { status: 400, message: "The ARN is not valid." },
  InvalidCiphertextException: { status: 400, message: "The ciphertext is invalid." },
  InvalidImportTokenException: { status: 400, message: "The import token is not valid." },
  ExpiredImportTokenException: { status: 400, message: "The import token has expired." },
  IncorrectKeyMaterialException: {
    status: 400,
    message: "The key material does not match the key material previously imported into this key.",
  },
  InvalidGrantTokenException: { status: 400, message: "The grant token is not valid." },
  InvalidGrantIdException: { status: 400, message: "The grant id is not valid." },
  InvalidKeyUsageException: {
    status: 400,
    message: "The KMS key's KeyUsage or KeySpec does not allow this operation.",
  },
  InvalidMarkerException: { status: 400, message: "The pagination marker is not valid." },
  KMSInternalException: { status: 500, message: "An internal error occurred." },
  KMSInvalidSignatureException: { status: 400, message: "The signature is not valid for this message, key and algorithm." },
  KMSInvalidMacException: { status: 400, message: "The MAC is not valid for this message, key and algorithm." },
  KMSInvalidStateException: {
    status: 400,
    message: "The state of the KMS key does not allow this operation.",
  },
  LimitExceededException: { status: 400, message: "A limit was exceeded." },
  MalformedPolicyDocumentException: { status: 400, message: "The policy document is malformed." },
  NotFoundException: { status: 400, message: "The specified resource could not be found." },
  TagException: { status: 400, message: "The tags are not valid." },
  UnsupportedOperationException: { status: 400, message: "This operation is not supported." },
  // Organizations.
  AccountNotFoundException: { status: 400, message: "The account is not in the organization." },
  CreateAccountStatusNotFoundException: { status: 400, message: "No such create-account request." },
  ConstraintViolationException: { status: 400, message: "The request violates a constraint of the organization." },
  InvalidInputException: { status: 400, message: "The input is not valid." },
  // S3 (REST-XML): codes and statuses as S3 answers them.
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist." },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  BucketAlreadyExists: { status: 409, message: "The requested bucket name is not available." },
  BucketAlreadyOwnedByYou: { status: 409, message: "Your previous request to create the named bucket succeeded and you already own it." },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty." },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable." },
  InvalidArgument: { status: 400, message: "Invalid argument." },
  InvalidRequest: { status: 400, message: "Invalid request." },
  MalformedXML: { status: 400, message: "The XML you provided was not well-formed or did not validate against our published schema." },
  MalformedPolicy: { status: 400, message: "The bucket policy is malformed." },
  NoSuchBucketPolicy: { status: 404, message: "The bucket policy does not exist." },
  NoSuchUpload: { status: 404, message: "The specified multipart upload does not exist." },
  InvalidPart: { status: 400, message: "One or more of the specified parts could not be found or its entity tag did not match." },
  InvalidPartOrder: { status: 400, message: "The list of parts was not in ascending order of part number." },
  EntityTooSmall: { status: 400, message: "Your proposed upload is smaller than the minimum allowed object size." },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed object size." },
  BadDigest: { status: 400, message: "The Content-MD5 or checksum you specified did not match what we received." },
  InvalidDigest: { status: 400, message: "The Content-MD5 you specified is not valid." },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
  IncompleteBody: { status: 400, message: "You did not provide the number of bytes specified by the Content-Length HTTP header." },
  InvalidAccessKeyId: { status: 403, message: "The AWS access key Id you provided does not exist in our records." },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  IllegalLocationConstraintException: { status: 400, message: "The location constraint is incompatible with the region of the request." },
  InvalidLocationConstraint: { status: 400, message: "The specified location-constraint is not valid." },
  AccessControlListNotSupported: { status: 400, message: "The bucket does not allow ACLs." },
  InvalidBucketAclWithObjectOwnership: {
    status: 400,
    message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  },
  InvalidStorageClass: { status: 400, message: "The storage class you specified is not valid." },
  InvalidPartNumber: { status: 416, message: "The requested partnumber is not satisfiable." },
  NotModified: { status: 304, message: "The object was not modified since the time or ETag the request named." },
  PreconditionFailed: { status: 412, message: "At least one of the pre-conditions you specified did not hold." },
  KeyTooLongError: { status: 400, message: "Your key is too long." },
  MetadataTooLarge: { status: 400, message: "Your metadata headers exceed the maximum allowed metadata size." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  NotImplemented: { status: 501, message: "A header or operation you provided implies functionality that is not implemented." },
  "KMS.DisabledException": { status: 400, message: "The KMS key of this object is disabled." },
  "KMS.KMSInvalidStateException": { status: 400, message: "The state of the KMS key of this object does not allow its use." },
  "KMS.NotFoundException": { status: 400, message: "The KMS key does not exist." },
  // CloudTrail.
  InvalidLookupAttributesException: { status: 400, message: "The lookup attributes are not valid." },
  InvalidTimeRangeException: { status: 400, message: "The time range is not valid: StartTime must not be after EndTime." },
  InvalidMaxResultsException: { status: 400, message: "MaxResults must be from 1 to 50." },
  InvalidNextTokenException: { status: 400, message: "The NextToken is not valid." },
  InvalidEventCategoryException: { status: 400, message: "The event category is not valid." },
  // CloudTrail trails.
  TrailNotFoundException: { status: 400, message: "No trail of that name or ARN exists in this account and region." },
  TrailAlreadyExistsException: { status: 400, message: "A trail of that name already exists in this account and region." },
  S3BucketDoesNotExistException: { status: 400, message: "The S3 bucket does not exist." },
  InsufficientS3BucketPolicyException: { status: 400, message: "The S3 bucket's policy does not let CloudTrail deliver to it." },
  InvalidTrailNameException: { status: 400, message: "The trail name is not valid." },
  InvalidS3PrefixException: { status: 400, message: "The S3 key prefix is not valid." },
  InvalidEventSelectorsException: { status: 400, message: "The event selectors are not valid." },
  InvalidTokenException: { status: 400, message: "The NextToken is not valid." },
  KmsKeyNotFoundException: { status: 400, message: "The KMS key does not exist." },
  InvalidHomeRegionException: { status: 400, message: "The trail can only be changed in its home region." },
  CloudTrailARNInvalidException: { status: 400, message: "The trail ARN is not valid." },
  MaximumNumberOfTrailsExceededException: { status: 400, message: "The account has the maximum number of trails in this region." },
  InvalidParameterCombinationException: { status: 400, message: "The combination of parameters is not valid." },
  InsufficientEncryptionPolicyException: { status: 400, message: "The KMS key's policy does not let CloudTrail encrypt with it." },
  KmsException: { status: 400, message: "The KMS key cannot be used for the trail." },
  // Secrets Manager.
  ResourceNotFoundException: { status: 400, message: "Secrets Manager can't find the specified secret." },
  ResourceExistsException: { status: 400, message: "A resource with the ID you requested already exists." },
  InvalidParameterException: { status: 400, message: "The parameter name or value is invalid." },
  InvalidRequestException: { status: 400, message: "The request is not valid for the current state of the secret." },
  DecryptionFailure: { status: 400, message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key." },
  EncryptionFailure: { status: 400, message: "Secrets Manager can't encrypt the protected secret text using the provided KMS key." },
  PublicPolicyException: { status: 400, message: "The resource policy has public access and BlockPublicPolicy is set." },
  InternalServiceError: { status: 500, message: "An error occurred on the server side." },
  // ACM Private CA.
  CertificateMismatchException: { status: 400, message: "The certificate's public key does not match the certificate authority's." },
  ConcurrentModificationException: { status: 400, message: "A previous update to the resource has not completed; try again." },
  InvalidArgsException: { status: 400, message: "One or more of the specified arguments is not valid." },
  InvalidPolicyException: { status: 400, message: "The resource policy is not valid." },
  InvalidStateException: { status: 400, message: "The state of the certificate authority does not allow this operation." },
  InvalidTagException: { status: 400, message: "The tag associated with the CA is not valid." },
  LockoutPreventedException: {
    status: 400,
    message: "The current action was prevented because it would lock the caller out from performing subsequent actions.",
  },
  MalformedCSRException: { status: 400, message: "The certificate signing request is invalid." },
  MalformedCertificateException: { status: 400, message: "One or more fields in the certificate are invalid." },
  PermissionAlreadyExistsException: { status: 400, message: "The designated permission has already been given to the user." },
  RequestAlreadyProcessedException: { status: 400, message: "Your request has already been completed." },
  RequestFailedException: { status: 400, message: "The request has failed for an unspecified reason." },
  RequestInProgressException: { status: 400, message: "Your request is already in progress." },
  TooManyTagsException: { status: 400, message: "You can associate up to 50 tags with a private CA." },
  // ACM (it shares ResourceNotFoundException, InvalidParameterException, InvalidArnException, InvalidArgsException,
  // InvalidTagException, TooManyTagsException and RequestInProgressException with the services above).
  ResourceInUseException: { status: 400, message: "The certificate is in use by another resource and cannot be deleted." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ServiceError extends Error {
  override readonly name = "ServiceError";
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** Elements a REST-XML error carries beside Code and Message (S3's <HeadersNotSigned>). */
    readonly details?: Readonly<Record<string, string>>,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.status = ERROR_CODES[code].status;
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof ServiceError;
}

/** The one message every decrypt failure carries, so that failures are no oracle. */
export function invalidCiphertext(): ServiceError {
  return new ServiceError("InvalidCiphertextException");
}
