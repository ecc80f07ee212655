import { describe, expect, it } from 'vitest';
import { startSourcesRun } from '../../../src/core/fetch/sources-start';
import type { RunInput, RunStarter } from '../../../src/core/run-start';
import { MemoryStore } from '../../helpers/memory-store';

function recordingStarter() {
  const started: Array<{ name: string; input: RunInput }> = [];
  const starter: RunStarter = {
    start: async (name, input) => {
      const already = started.some((s) => s.name === name);
      started.push({ name, input });
      return { executionArn: `arn:aws:states:us-east-1:123456789012:execution:photo-scaler-migrate-sources-dev:${name}`, alreadyStarted: already };
    },
  };
  return { starter, started };
}

describe('startSourcesRun (start --sources)', () => {
  it('checks every row, then starts the sources machine with {sources}; the same CSV twice is one run', async () => {
    const store = new MemoryStore();
    const ref = { bucket: 'inv', key: 'sources/azure.csv' };
    await store.put(ref, Buffer.from('key,url,size\na.jpg,https://acct.blob.core.windows.net/c/a.jpg?sig=SECRET,10\nb.jpg,s3://old/b.jpg,\n'), {});
    const { starter, started } = recordingStarter();
    const first = await startSourcesRun(store, starter, ref);
    expect(first).toMatchObject({ alreadyStarted: false, checked: { rows: 2, declaredBytes: 10 } });
    expect(started[0]!.input).toEqual({ sources: ref });
    expect(first.name).toMatch(/^sources-[0-9a-f]{16}$/);
    expect((await startSourcesRun(store, starter, ref)).alreadyStarted).toBe(true);
  });

  it('refuses a CSV with a bad row, naming its line and never its secret, and starts nothing', async () => {
    const store = new MemoryStore();
    const ref = { bucket: 'inv', key: 'sources/bad.csv' };
    await store.put(ref, Buffer.from('key,url\na.jpg,https://h.example/a.jpg\n,ftp://h.example/x?sig=SECRET\n'), {});
    const { starter, started } = recordingStarter();
    const error = await startSourcesRun(store, starter, ref).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/1 bad row, nothing started:\n {2}line 3: empty key/);
    expect((error as Error).message).not.toContain('SECRET');
    expect(started).toEqual([]);
    await expect(startSourcesRun(store, starter, { bucket: 'inv', key: 'sources/none.csv' })).rejects.toThrow(/does not exist/);
  });
});
