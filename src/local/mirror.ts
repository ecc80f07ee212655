/**
 * A local run mirrors its folder: a photo removed from the folder since the last run is removed from
 * the library too — its source object, pointers, catalog rows and failure row, and its assets unless
 * another key still uses them — through the very removal live sync uses on AWS (core/sync removeKey).
 *
 * Safety first: the data dir remembers the folder it mirrors (`mirror.json`, written on its first
 * run). A run of another folder on the same data dir adds its photos but removes nothing, and says
 * so: pointing `run` at a second folder must never erase the first one's library.
 */
import { randomBytes } from 'node:crypto';
import { readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeKey } from '../core/sync';
import type { LocalStack } from './stack';
import { LOCAL_NAMES } from './stack';

export const MIRROR_FILE = 'mirror.json';

export interface MirrorOutcome {
  /** Keys removed from the library: their photo is no longer in the folder. */
  removed: string[];
  /** Why nothing was removed although photos are missing (another folder is mirrored here). */
  notMirrored?: string;
}

/** The folder this data dir mirrors; recorded by its first run (undefined for a data dir without one). */
async function mirroredFolder(dataDir: string): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dataDir, MIRROR_FILE), 'utf8')) as { folder?: unknown };
    return typeof record.folder === 'string' ? record.folder : undefined;
  } catch {
    return undefined;
  }
}

async function recordFolder(dataDir: string, folder: string): Promise<void> {
  const file = join(dataDir, MIRROR_FILE);
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, `${JSON.stringify({ folder }, null, 2)}\n`);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes from the library every key of the source bucket that `keys` (every file of the folder
 * that maps to a key, uploaded or not) does not name — only when this data dir mirrors `photosDir`.
 * Each key's library entries go before its source object: a run killed in between finds the key
 * again next time and finishes its removal.
 */
export async function mirrorRemovals(stack: LocalStack, photosDir: string, keys: ReadonlySet<string>): Promise<MirrorOutcome> {
  const folder = await realpath(photosDir);
  const mirrored = await mirroredFolder(stack.dataDir);
  if (mirrored === undefined) await recordFolder(stack.dataDir, folder);
  const gone: string[] = [];
  for await (const object of stack.store.list(LOCAL_NAMES.sourceBucket, '')) if (!keys.has(object.key)) gone.push(object.key);
  if (gone.length === 0) return { removed: [] };
  if (mirrored === undefined) {
    return { removed: [], notMirrored: `${gone.length} photos of the library are not in ${folder}; the data dir did not record which folder it mirrors (made by an older version), so nothing was removed. It mirrors ${folder} from now on.` };
  }
  if (mirrored !== folder) {
    return { removed: [], notMirrored: `${gone.length} photos of the library are not in ${folder}: the data dir mirrors ${mirrored}, so nothing was removed` };
  }
  for (const key of gone) {
    await removeKey(stack.context, key);
    await stack.store.delete({ bucket: LOCAL_NAMES.sourceBucket, key });
  }
  return { removed: gone };
}
