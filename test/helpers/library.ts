import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { RUNS } from '../../src/core/layout';

/** Every key of a bucket (paginated), sorted. */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** What a run may add on every run (its ResultWriter output) is not library content. */
export const isLibraryContent = (key: string) => !key.startsWith(`${RUNS}/`);
