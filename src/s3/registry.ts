/**
 * Every S3 operation keyhold serves, with its REST binding (method, target, sub-resource), as
 * S3's service model binds them. Order matters: a route with a sub-resource or a required
 * header comes before the plain route of the same method and target.
 */
import type { RestRoute } from "../http/rest-xml-protocol.js";
import type { S3Operation } from "./operation.js";
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from "./operations/buckets.js";
import {
  deleteBucketEncryption,
  deleteBucketPolicy,
  getBucketEncryption,
  getBucketPolicy,
  putBucketEncryption,
  putBucketPolicy,
} from "./operations/bucket-config.js";
import { listObjects, listObjectsV2 } from "./operations/listing.js";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listPartsOperation,
  uploadPart,
  uploadPartCopy,
} from "./operations/multipart.js";
import { copyObject, deleteObject, deleteObjects, expectedOwners, getObject, headObject, putObject } from "./operations/objects.js";

export const S3_XML_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

export const S3_ROUTES: readonly RestRoute[] = [
  { name: "ListBuckets", method: "GET", target: "service", outputRoot: "ListAllMyBucketsResult" },
  { name: "GetBucketLocation", method: "GET", target: "bucket", subresource: "location", outputRoot: "LocationConstraint" },
  { name: "PutBucketEncryption", method: "PUT", target: "bucket", subresource: "encryption", payload: "xml" },
  {
    name: "GetBucketEncryption",
    method: "GET",
    target: "bucket",
    subresource: "encryption",
    outputRoot: "ServerSideEncryptionConfiguration",
  },
  { name: "DeleteBucketEncryption", method: "DELETE", target: "bucket", subresource: "encryption", status: 204 },
  {
    name: "PutBucketPolicy",
    method: "PUT",
    target: "bucket",
    subresource: "policy",
    payload: "text",
    payloadMember: "Policy",
    status: 204,
  },
  { name: "GetBucketPolicy", method: "GET", target: "bucket", subresource: "policy", outputPayload: "Policy" },
  { name: "DeleteBucketPolicy", method: "DELETE", target: "bucket", subresource: "policy", status: 204 },
  { name: "ListMultipartUploads", method: "GET", target: "bucket", subresource: "uploads", outputRoot: "ListMultipartUploadsResult" },
  { name: "DeleteObjects", method: "POST", target: "bucket", subresource: "delete", payload: "xml", outputRoot: "DeleteResult" },
  { name: "ListObjectsV2", method: "GET", target: "bucket", subresource: "list-type", outputRoot: "ListBucketResult" },
  { name: "ListObjects", method: "GET", target: "bucket", outputRoot: "ListBucketResult" },
  { name: "CreateBucket", method: "PUT", target: "bucket", payload: "xml" },
  { name: "HeadBucket", method: "HEAD", target: "bucket" },
  { name: "DeleteBucket", method: "DELETE", target: "bucket", status: 204 },
  { name: "CreateMultipartUpload", method: "POST", target: "object", subresource: "uploads", outputRoot: "InitiateMultipartUploadResult" },
  {
    name: "CompleteMultipartUpload",
    method: "POST",
    target: "object",
    subresource: "uploadId",
    payload: "xml",
    outputRoot: "CompleteMultipartUploadResult",
    xmlMembers: ["Location", "ETag"],
  },
  {
    name: "UploadPartCopy",
    method: "PUT",
    target: "object",
    subresource: "uploadId",
    header: "x-amz-copy-source",
    outputRoot: "CopyPartResult",
    xmlMembers: ["ETag", "LastModified"],
  },
  { name: "UploadPart", method: "PUT", target: "object", subresource: "uploadId", payload: "stream" },
  { name: "AbortMultipartUpload", method: "DELETE", target: "object", subresource: "uploadId", status: 204 },
  { name: "ListParts", method: "GET", target: "object", subresource: "uploadId", outputRoot: "ListPartsResult" },
  {
    name: "CopyObject",
    method: "PUT",
    target: "object",
    header: "x-amz-copy-source",
    outputRoot: "CopyObjectResult",
    xmlMembers: ["ETag", "LastModified"],
  },
  { name: "PutObject", method: "PUT", target: "object", payload: "stream" },
  { name: "GetObject", method: "GET", target: "object" },
  { name: "HeadObject", method: "HEAD", target: "object" },
  { name: "DeleteObject", method: "DELETE", target: "object", status: 204 },
];

export const S3_OPERATIONS: readonly S3Operation[] = [
  listBuckets,
  getBucketLocation,
  createBucket,
  headBucket,
  deleteBucket,
  putBucketEncryption,
  getBucketEncryption,
  deleteBucketEncryption,
  putBucketPolicy,
  getBucketPolicy,
  deleteBucketPolicy,
  listObjectsV2,
  listObjects,
  deleteObjects,
  createMultipartUpload,
  uploadPart,
  uploadPartCopy,
  completeMultipartUpload,
  abortMultipartUpload,
  listPartsOperation,
  listMultipartUploads,
  copyObject,
  putObject,
  getObject,
  headObject,
  deleteObject,
];

/** Each operation as served: the bucket owners the request expects are handed to the service first. */
export const S3_OPERATIONS_BY_NAME: ReadonlyMap<string, S3Operation> = new Map(
  S3_OPERATIONS.map((op) => [
    op.name,
    {
      ...op,
      handle(s3, call, input) {
        s3.expectOwners(call, expectedOwners(input));
        return op.handle(s3, call, input);
      },
    },
  ]),
);
