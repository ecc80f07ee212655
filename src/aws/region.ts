/**
 * One region for the whole deployment. S3 event notifications reach only a Lambda function in the
 * bucket's own region (S3 User Guide, "Event notification types and destinations": "The Lambda
 * function must be in the same Region as your S3 bucket"), and S3 Inventory delivers only to a bucket
 * in the source bucket's region (S3 User Guide, "Amazon S3 Inventory"). So the stack must be deployed
 * in the source bucket's region; the commands that touch AWS check it and say so when they differ.
 */
import { GetBucketLocationCommand, NoSuchBucket, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../core/errors';
import { regionOfLocation } from './preflight';
import { withContext } from './transient';

export { regionOfLocation };

export async function bucketRegion(s3: S3Client, bucket: string): Promise<string> {
  try {
    const { LocationConstraint } = await withContext(`GetBucketLocation ${bucket}`, () => s3.send(new GetBucketLocationCommand({ Bucket: bucket })));
    return regionOfLocation(LocationConstraint);
  } catch (error) {
    if (error instanceof NoSuchBucket) throw new ConfigError(`no such bucket: ${bucket}`, { cause: error });
    throw error;
  }
}

/** The words for a source bucket in another region than the stack. */
export function regionMismatch(sourceBucket: string, sourceRegion: string, stackRegion: string): string {
  return (
    `the source bucket ${sourceBucket} is in ${sourceRegion}, the stack in ${stackRegion}: S3 event notifications and S3 Inventory work only within one region. ` +
    `Deploy the stack in ${sourceRegion} (npm run deploy -- --region ${sourceRegion} …) and pass --region ${sourceRegion} to photo-scaler`
  );
}

/** Refuses (ConfigError) when the source bucket is not in `stackRegion`. */
export async function assertSourceInRegion(s3: S3Client, sourceBucket: string, stackRegion: string): Promise<void> {
  const sourceRegion = await bucketRegion(s3, sourceBucket);
  if (sourceRegion !== stackRegion) throw new ConfigError(regionMismatch(sourceBucket, sourceRegion, stackRegion));
}
