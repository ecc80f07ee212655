/** What observeStep logs: one module Logger, a child per invocation, errors kept whole. */
import { describe, expect, it } from 'vitest';
import { logger, loggableError, MAX_CAUSE_DEPTH, observeStep } from '../../src/handlers/observe';
import { TransientError } from '../../src/core/errors';
import type { ItemEvent, ItemOutcome } from '../../src/core/item';
import type { Context } from 'aws-lambda';

/** A Lambda context as the runtime passes it (the fields @types/aws-lambda names). */
const lambdaContext = (functionName: string, awsRequestId: string): Context => ({
  functionName,
  awsRequestId,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '1024',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2026/12/04/[$LATEST]0123456789abcdef',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

const event = (key: string): ItemEvent => ({ item: { bucket: 'originals', key, etag: `etag-${key}` }, runId: `exec-${key}` });
const outcome = (key: string): ItemOutcome => ({ key, status: 'unchanged', written: { assets: 0, pointers: 0, catalogRows: 0 } }) as ItemOutcome;
const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line.level);

describe('observeStep logs', () => {
  it('keeps each invocation\'s keys on its own lines when invocations run at once in one process', async () => {
    const lines: string[] = [];
    const step = observeStep(
      'dedupe',
      async (e: ItemEvent) => {
        // Interleave: every invocation waits until all have started, then finishes in reverse order.
        await new Promise((resolve) => setTimeout(resolve, 50 - Number(e.item.key.slice(1)) * 5));
        if (e.item.key === 'k3') throw new TransientError('GetObject s3://originals/k3: SlowDown', { cause: Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }) });
        return outcome(e.item.key);
      },
      { sink: (line) => lines.push(line) },
    );
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    await Promise.allSettled(keys.map((key) => step(event(key), lambdaContext(`fn-${key}`, `req-${key}`))));
    const logged = parse(lines);
    expect(logged.map((line) => line.key).sort()).toEqual(keys);
    for (const line of logged) {
      expect(line).toMatchObject({ step: 'dedupe', execution: `exec-${line.key}`, sourceEtag: `etag-${line.key}`, function_name: `fn-${line.key}`, function_request_id: `req-${line.key}` });
    }
    expect(logged.find((line) => line.key === 'k3')!.error).toMatchObject({ name: 'TransientError', cause: { name: 'SlowDown', message: 'Please reduce your request rate.' } });
    // The module's logger itself never took an invocation's keys.
    expect(logger.getPersistentLogAttributes()).toEqual({});
  });

  it('prints the same whole error on Lambda (no sink: Powertools writes a WARN to stderr)', async () => {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const step = observeStep('resize', async () => {
        throw new TransientError('PutObject s3://library/a: InternalError', { cause: Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }) });
      });
      await expect(step(event('a.jpg'))).rejects.toThrow(TransientError);
    } finally {
      process.stderr.write = write;
    }
    const line = parse(chunks.join('').split('\n').filter((text) => text.startsWith('{')))[0]!;
    expect(line.error).toMatchObject({ name: 'TransientError', message: 'PutObject s3://library/a: InternalError', cause: { name: 'InternalError', $metadata: { httpStatusCode: 500 } } });
    expect(line.error.stack).toMatch(/^TransientError: PutObject[^]*\n\s+at /);
    expect(line.error.cause.stack).toMatch(/We encountered an internal error\.\n\s+at /);
  });
});

describe('loggableError', () => {
  it(`follows causes ${MAX_CAUSE_DEPTH} deep, stops at a cycle, and keeps a cause that is no Error`, () => {
    let error: Error = new Error('root');
    for (let level = 1; level <= MAX_CAUSE_DEPTH + 2; level++) error = new Error(`level ${level}`, { cause: error });
    let logged = loggableError(error);
    const messages: unknown[] = [];
    while (typeof logged === 'object') {
      messages.push(logged.message);
      logged = logged.cause as Record<string, unknown>;
    }
    expect(messages).toHaveLength(MAX_CAUSE_DEPTH);
    expect(logged).toMatch(/^\[Error: level 2 — causes deeper than 5 not logged\]$/);

    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(JSON.parse(JSON.stringify(loggableError(a)))).toMatchObject({ message: 'a', cause: { message: 'b', cause: '[cycle: Error]' } });
    expect(loggableError(new Error('x', { cause: { code: 42 } }))).toMatchObject({ message: 'x', cause: { code: 42 } });
  });
});
