import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNS } from '../../src/core/layout';
import type { PhotoScalerConfig } from '../../src/core/presets';
import { runLocalMigration } from '../../src/local/migrate';
import { type LocalServer, startLocalServer } from '../../src/local/serve';
import { type LocalStack, openLocalStack } from '../../src/local/stack';

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

/**
 * A library served over HTTP for tests: `photos` (key → bytes) written to a fresh folder, migrated by a
 * local run into a fresh stack (with `config` when given), and `serve` started on it (CDN view, website,
 * API). `close` stops the server and the stack and removes the folder.
 */
export async function servedLibrary(
  name: string,
  photos: Record<string, Uint8Array>,
  options: { signingSecret: string; config?: PhotoScalerConfig },
): Promise<{ dir: string; stack: LocalStack; server: LocalServer; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `photo-scaler-${name}-`));
  for (const [key, bytes] of Object.entries(photos)) {
    await mkdir(join(dir, 'photos', key, '..'), { recursive: true });
    await writeFile(join(dir, 'photos', key), bytes);
  }
  const stack = await openLocalStack(join(dir, 'data'), options.config ? { config: options.config } : {});
  await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), stack, timeScale: 0 });
  const server = await startLocalServer(stack, { signingSecret: options.signingSecret });
  return {
    dir,
    stack,
    server,
    close: async () => {
      await server.close();
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
