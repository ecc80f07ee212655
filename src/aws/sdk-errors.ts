/**
 * AWS SDK errors are recognised by their exception classes (`error instanceof NoSuchKey`,
 * `ConditionalCheckFailedException`, `ExecutionDoesNotExist`…) wherever the SDK exports one: the
 * SDK deserialises a modeled error code into its class (AWS SDK for JavaScript v3 Developer Guide,
 * "Handling errors": https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/handling-exceptions.html).
 *
 * Some answers S3 gives are not modeled in @aws-sdk/client-s3 (no class to test against): the 412
 * `PreconditionFailed` of a conditional PUT (`If-None-Match: *`) and GetBucketPolicy's
 * `NoSuchBucketPolicy`. The SDK throws those as a plain S3ServiceException whose `name` is the error
 * code of the answer. This is the one place such a code is compared.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';

/** S3 error codes the SDK does not model as classes (checked against @aws-sdk/client-s3 3.1173). */
export type UnmodeledS3Code = 'PreconditionFailed' | 'NoSuchBucketPolicy';

export function isUnmodeledS3Error(error: unknown, code: UnmodeledS3Code): boolean {
  return error instanceof S3ServiceException && error.name === code;
}
