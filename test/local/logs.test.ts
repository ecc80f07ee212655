/** The handlers' Powertools logs and EMF metrics of a local run, in the data dir's log file. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRunResult, runLocalMigration } from '../../src/local/migrate';
import { writeSamplePhotos } from '../../src/local/samples';
import { LOG_FILE } from '../../src/local/logs';
import { NO_FAULTS } from '../../src/local/faults';
import { openLocalStack } from '../../src/local/stack';

let dir: string;
let run: LocalRunResult;
let lines: Array<Record<string, any>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'photo-scaler-logs-'));
  await writeSamplePhotos(join(dir, 'photos'));
  run = await runLocalMigration({ photosDir: join(dir, 'photos'), dataDir: join(dir, 'data'), timeScale: 0.001 });
  lines = (await readFile(join(dir, 'data', LOG_FILE), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
}, 60_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

const metricSum = (name: string, filter: (line: Record<string, any>) => boolean = () => true) =>
  lines.filter((line) => line._aws && name in line && filter(line)).reduce((sum, line) => sum + line[name], 0);

describe('logs and metrics of a local run', () => {
  it('logs every step of every photo as JSON with its key and execution, and never photo bytes', () => {
    const logs = lines.filter((line) => line.level);
    expect(run.summary.items).toBe(10);
    const keys = new Set(logs.filter((line) => line.step === 'dedupe').map((line) => line.key));
    expect(keys.size).toBe(run.summary.items);
    for (const line of logs) {
      expect(line).toMatchObject({ service: 'photo-scaler', execution: run.execution, level: expect.any(String), timestamp: expect.any(String) });
      expect(typeof line.ms).toBe('number');
    }
    expect(logs.find((line) => line.step === 'recordFailure')).toMatchObject({ key: 'broken/truncated.jpg', status: 'failed', errorType: 'PhotoError', error: expect.stringMatching(/cannot decode/) });
    // The biggest line is far smaller than the smallest photo: no bytes in the logs.
    expect(Math.max(...lines.map((line) => JSON.stringify(line).length))).toBeLessThan(2_000);
  });

  it('publishes EMF metrics that add up to the run: photos, dedupe hits, failures by reason, crops, bytes, resize time', () => {
    const s = run.summary;
    expect(metricSum('PhotosProcessed')).toBe(s.items);
    expect(metricSum('DedupeHits')).toBe(s.duplicates);
    // The dimension is the photo's reason (the truncated JPEG: corrupt), as in its failure row and run --json.
    expect(s.failures.map((failure) => failure.reason)).toEqual(['corrupt']);
    expect(metricSum('PhotosFailed', (line) => line.reason === 'corrupt')).toBe(s.failed);
    expect(metricSum('CropsWritten')).toBe(s.resized * 4);
    expect(metricSum('BytesIn')).toBeGreaterThan(0);
    expect(metricSum('BytesOut')).toBeGreaterThan(0);
    const resize = lines.filter((line) => line._aws && 'ResizeDuration' in line);
    expect(resize).toHaveLength(s.resized);
    const failure = lines.find((line) => line._aws && 'PhotosFailed' in line)!;
    expect(failure._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'photo-scaler', Dimensions: [['service', 'step', 'reason']], Metrics: [{ Name: 'PhotosFailed', Unit: 'Count' }] });
  });
});

describe('errors in the logs', () => {
  const readLines = async (dataDir: string) => (await readFile(join(dataDir, LOG_FILE), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);

  it("keeps a failing step's error whole: name, message and stack", () => {
    // broken/truncated.jpg: a step throws PhotoError (the state machine catches it into recordFailure).
    const thrown = lines.filter((line) => line.level === 'WARN' && line.key === 'broken/truncated.jpg' && line.error);
    expect(thrown.length).toBeGreaterThan(0);
    for (const line of thrown) {
      // The message carries the reason's mark (what reaches RecordFailure through Lambda's error JSON).
      expect(line.error).toMatchObject({ name: 'PhotoError', message: expect.stringMatching(/^\[corrupt\] cannot decode/) });
      expect(line.error.stack).toMatch(/^PhotoError: \[corrupt\] cannot decode[^]*\n\s+at /);
    }
  });

  it("keeps a transient error's cause (the SDK error it wraps), with its own name, message and fields", async () => {
    // Once the stack is up, DynamoDB throttles 3 requests in 4: many outlive the SDK's attempts and fail
    // their step with TransientError (cause: ProvisionedThroughputExceededException), which the state
    // machine retries.
    const faultDir = await mkdtemp(join(tmpdir(), 'photo-scaler-logs-faults-'));
    try {
      await writeSamplePhotos(join(faultDir, 'photos'));
      const stack = await openLocalStack(join(faultDir, 'data'), { faults: { ...NO_FAULTS, throttle: 0.01, seed: 7 }, sdkTimeScale: 0.001 });
      stack.faults.rates.throttle = 0.75;
      try {
        await runLocalMigration({ photosDir: join(faultDir, 'photos'), dataDir: join(faultDir, 'data'), timeScale: 0.001, stack });
      } finally {
        await stack.close();
      }
      const transient = (await readLines(join(faultDir, 'data'))).filter((line) => line.level === 'WARN' && line.error?.name === 'TransientError');
      expect(transient.length).toBeGreaterThan(0);
      for (const line of transient) {
        expect(line.error.message).toMatch(/ProvisionedThroughputExceededException/);
        expect(line.error.stack).toMatch(/^TransientError: [^]*\n\s+at /);
        expect(line.error.cause).toMatchObject({ name: 'ProvisionedThroughputExceededException', message: expect.any(String), stack: expect.any(String), $metadata: { httpStatusCode: 400 } });
      }
    } finally {
      await rm(faultDir, { recursive: true, force: true });
    }
  }, 180_000);
});
