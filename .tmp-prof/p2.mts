import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalStack, LOCAL_NAMES } from '../src/local/stack';
import { resolveLogical } from '../src/core/resolve';
const bytes = await readFile('/work/shared/photos/kleiber-6028x3391.jpg');
const stack = await openLocalStack(await mkdtemp(join(tmpdir(), 'prof-')));
const timed = (name: string, fn: any) => async (...a: any[]) => { const s = performance.now(); try { return await fn(...a); } finally { (globalThis as any).t.push(`${name} ${(performance.now()-s).toFixed(1)}`); } };
const store: any = stack.store;
const wrapped = { get: timed('get', store.get.bind(store)), head: timed('head', store.head.bind(store)), put: timed('put', store.put.bind(store)), openRead: timed('openRead', store.openRead.bind(store)), delete: store.delete.bind(store) };
const cat: any = stack.context.catalog;
const catalog = { ...cat, rowsForKey: timed('rowsForKey', cat.rowsForKey.bind(cat)), putRows: timed('putRows', cat.putRows.bind(cat)) };
for (let i = 0; i < 6; i++) await stack.store.put({ bucket: LOCAL_NAMES.sourceBucket, key: `b/${i}.jpg` }, bytes, { contentType: 'image/jpeg' });
const ctx: any = { ...stack.context, store: wrapped, catalog, sourceBucket: LOCAL_NAMES.sourceBucket };
for (let i = 0; i < 6; i++) {
  (globalThis as any).t = [];
  const s = performance.now();
  const r: any = await resolveLogical(ctx, { path: `/dynamic/300x200/b/${i}.jpg` });
  let n = 0; for await (const c of r.body) n += c.length;
  console.log(r.status, (performance.now() - s).toFixed(1), (globalThis as any).t.join(', '));
}
await stack.close();
