/** `--faults`: the spec parsed or refused whole, and the write requests a kill point counts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FaultInjector, NO_FAULTS, parseFaults } from '../../src/local/faults';

describe('parseFaults', () => {
  it('reads rates, a seed and a kill point', () => {
    expect(parseFaults('slowdown=0.05,internal=0.01,throttle=0.02,crash=0.03,seed=42')).toEqual({ slowDown: 0.05, internalError: 0.01, throttle: 0.02, crash: 0.03, seed: 42 });
    expect(parseFaults('kill=s3:7')).toEqual({ ...NO_FAULTS, kill: { service: 's3', nth: 7 } });
    expect(parseFaults('kill=dynamodb:12,seed=3')).toEqual({ ...NO_FAULTS, seed: 3, kill: { service: 'dynamodb', nth: 12 } });
  });

  it('refuses what it cannot read, naming the part', () => {
    for (const bad of ['slowdown=1', 'slowdown=-0.1', 'latency=0.1', 'crash=x', 'kill=s3', 'kill=s3:0', 'kill=lambda:3', 'kill=s3:1.5']) {
      expect(() => parseFaults(bad), bad).toThrow(new RegExp(`bad fault "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    }
  });
});

describe('a kill point', () => {
  const request = (method: string, target?: string) => ({ method, headers: target ? { 'x-amz-target': target } : {} }) as unknown as IncomingMessage;
  const response = {} as ServerResponse;

  it('counts the write requests of each service (reads are not writes), and is not reached before its n-th', () => {
    const faults = new FaultInjector({ ...NO_FAULTS, kill: { service: 'dynamodb', nth: 1_000 } });
    expect(faults.active).toBe(true);
    for (const method of ['GET', 'HEAD', 'PUT', 'PUT', 'DELETE', 'POST']) faults.s3Gate(request(method), response);
    for (const target of ['DynamoDB_20120810.GetItem', 'DynamoDB_20120810.Query', 'DynamoDB_20120810.PutItem', 'DynamoDB_20120810.BatchWriteItem', 'DynamoDB_20120810.DeleteItem']) faults.dynamoGate(request('POST', target), response);
    expect(faults.writes).toEqual({ s3: 4, dynamodb: 3 });
  });

  it('is no fault at all when not set', () => {
    expect(new FaultInjector(NO_FAULTS).active).toBe(false);
  });
});

describe('crashing Lambdas', () => {
  /** Which of 40 keys' first two invocations crash, invoking them in the given order. */
  async function crashes(order: number[]): Promise<string[]> {
    const faults = new FaultInjector({ ...NO_FAULTS, crash: 0.3, seed: 5 });
    const handler = faults.crashing(async (event: { item: { key: string } }) => event.item.key);
    const crashed: string[] = [];
    for (const attempt of [1, 2]) {
      for (const i of order) {
        await handler({ item: { key: `k${i}` } }).catch((error: Error) => {
          expect(error.name).toBe('Lambda.Unknown');
          crashed.push(`k${i}#${attempt}`);
        });
      }
    }
    expect(faults.injected.crash).toBe(crashed.length);
    return crashed.sort();
  }

  it('crash the same invocations of the same items whatever order they run in (seeded per item, not per call)', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const forwards = await crashes(ids);
    expect(forwards.length).toBeGreaterThan(5);
    expect(await crashes([...ids].reverse())).toEqual(forwards);
  });

  it('an invocation that writes nothing still crashes when it is chosen: after its work, before it answers', async () => {
    const faults = new FaultInjector({ ...NO_FAULTS, crash: 0.99, seed: 1 });
    let worked = false;
    const handler = faults.crashing(async () => ((worked = true), 'answer'));
    await expect(handler({ item: { key: 'a.jpg' } })).rejects.toMatchObject({ name: 'Lambda.Unknown', message: /before it answered/ });
    expect(worked).toBe(true);
    expect(faults.injected.crash).toBe(1);
  });
});

