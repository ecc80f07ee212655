/**
 * Fault injection for the local stack, deterministic from a seed: S3 answers 503 SlowDown or 500
 * InternalError, DynamoDB answers ProvisionedThroughputExceeded, and a Lambda crashes mid-item (after
 * some of its writes, before the others). The emulators answer like the services do, so the SDK's
 * retries and the state machine's Retry/backoff are what absorb them. And the machine dies: `kill`
 * sends SIGKILL to this very process at a chosen write (the drills of test/local/kill-drills.test.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ObjectRef, ObjectStore, PutOptions } from '../core/ports';

export interface FaultRates {
  /** Share of S3 requests answered 503 SlowDown. */
  slowDown: number;
  /** Share of S3 requests answered 500 InternalError. */
  internalError: number;
  /** Share of DynamoDB requests answered ProvisionedThroughputExceededException. */
  throttle: number;
  /** Share of Lambda invocations that crash after some of their writes. */
  crash: number;
  seed: number;
  /** kill -9 of this process at the n-th write request to the local S3 or DynamoDB. */
  kill?: KillPoint;
}

/**
 * `s3:7`: the 7th write request (PUT, POST, DELETE) the local S3 receives; `dynamodb:3`: the 3rd write
 * (PutItem, BatchWriteItem, DeleteItem, UpdateItem, TransactWriteItems) the local DynamoDB receives.
 * The kill lands a seeded 0–7 ms after the request arrives: before, while or after it is written.
 */
export interface KillPoint {
  service: 's3' | 'dynamodb';
  nth: number;
}

export const NO_FAULTS: FaultRates = { slowDown: 0, internalError: 0, throttle: 0, crash: 0, seed: 1 };

export type FaultKind = 'slowDown' | 'internalError' | 'throttle' | 'crash';

/** `slowdown=0.05,internal=0.01,throttle=0.01,crash=0.01,seed=42` (and `kill=s3:<n>`) → rates. */
export function parseFaults(spec: string): FaultRates {
  const names: Record<string, Exclude<keyof FaultRates, 'kill'>> = { slowdown: 'slowDown', internal: 'internalError', throttle: 'throttle', crash: 'crash', seed: 'seed' };
  const rates: FaultRates = { ...NO_FAULTS };
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', value = ''] = part.split('=');
    if (name.toLowerCase() === 'kill') {
      const match = /^(s3|dynamodb):([1-9]\d*)$/.exec(value);
      if (!match) throw new Error(`bad fault "${part}": use kill=s3:<n> or kill=dynamodb:<n> (the n-th write request, n >= 1)`);
      rates.kill = { service: match[1] as KillPoint['service'], nth: Number(match[2]) };
      continue;
    }
    const field = names[name.toLowerCase()];
    const number = Number(value);
    if (!field || !Number.isFinite(number) || (field !== 'seed' && (number < 0 || number >= 1))) {
      throw new Error(`bad fault "${part}": use slowdown|internal|throttle|crash=<rate in [0,1)>, seed=<n> and kill=s3|dynamodb:<n>`);
    }
    rates[field] = number;
  }
  return rates;
}

export class FaultInjector {
  readonly injected: Record<FaultKind, number> = { slowDown: 0, internalError: 0, throttle: 0, crash: 0 };
  private state: number;
  private readonly invocations = new Map<string, number>();
  /** Write requests the emulators received so far (counted only while a kill is set). */
  readonly writes = { s3: 0, dynamodb: 0 };

  constructor(readonly rates: FaultRates) {
    this.state = rates.seed >>> 0 || 1;
  }

  get active(): boolean {
    return this.rates.slowDown + this.rates.internalError + this.rates.throttle + this.rates.crash > 0 || this.rates.kill !== undefined;
  }

  /** Counts write requests; at the chosen one, kills this process (never answers anything itself). */
  private killGate(service: KillPoint['service'], request: IncomingMessage): void {
    const kill = this.rates.kill;
    if (!kill || !isWrite(service, request)) return;
    const nth = ++this.writes[service];
    if (kill.service !== service || nth !== kill.nth) return;
    const delayMs = Math.floor(this.random() * 8);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), delayMs);
  }

  /** mulberry32: the same seed gives the same sequence of faults. */
  random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  roll(kind: FaultKind): boolean {
    const hit = this.rates[kind] > 0 && this.random() < this.rates[kind];
    if (hit) this.injected[kind]++;
    return hit;
  }

  /** S3 as the service answers: an XML error with the status. */
  s3Gate(request: IncomingMessage, response: ServerResponse): boolean {
    this.killGate('s3', request);
    const fault = this.roll('slowDown') ? ([503, 'SlowDown', 'Please reduce your request rate.'] as const) : this.roll('internalError') ? ([500, 'InternalError', 'We encountered an internal error. Please try again.'] as const) : undefined;
    if (!fault) return false;
    const [status, code, message] = fault;
    answerAfterBody(request, () => {
      response.writeHead(status, { 'Content-Type': 'application/xml' });
      response.end(request.method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>injected</RequestId></Error>`);
    });
    return true;
  }

  /** DynamoDB as the service answers a throttled request. */
  dynamoGate(request: IncomingMessage, response: ServerResponse): boolean {
    this.killGate('dynamodb', request);
    if (!this.roll('throttle')) return false;
    answerAfterBody(request, () => {
      response.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' }));
    });
    return true;
  }

  /**
   * Wraps a Lambda handler: a crashing invocation dies after a number of its S3 writes, like a runtime
   * that is killed mid-item. Step Functions reports that as Lambda.Unknown. Whether the n-th
   * invocation for an item crashes, and after how many writes, follows from the seed, the item's key
   * and n alone — not from the order in which concurrent invocations happen to run — so a seed gives
   * the same crashes on every run. An invocation that writes less than its crash point dies after
   * its work, before it answers (its writes stay, its answer is lost).
   */
  crashing<E, R, X extends unknown[]>(handler: (event: E, ...rest: X) => Promise<R>): (event: E, ...rest: X) => Promise<R> {
    // Without crashes, nothing to count or decide: no per-item state, and no AsyncLocalStorage (its
    // context tracking would otherwise tax every promise of the process).
    if (!(this.rates.crash > 0)) return handler;
    return (event, ...rest) => {
      const key = itemKeyOf(event);
      const nth = (this.invocations.get(key) ?? 0) + 1;
      this.invocations.set(key, nth);
      const roll = (salt: string) => seededUnit(`${this.rates.seed}\u0000${key}\u0000${nth}\u0000${salt}`);
      const crashAfter = this.rates.crash > 0 && roll('crash') < this.rates.crash ? 1 + Math.floor(roll('after') * 6) : undefined;
      const state = { crashAfter, writes: 0, crashed: false, onCrash: () => this.injected.crash++ };
      return invocation.run(state, async () => {
        const result = await handler(event, ...rest);
        // One that wrote less than its crash point dies after its work, before it answers.
        if (state.crashAfter !== undefined && !state.crashed) {
          state.crashed = true;
          state.onCrash();
          throw Object.assign(new Error(`injected crash after the invocation's ${state.writes} writes, before it answered`), { name: 'Lambda.Unknown' });
        }
        return result;
      });
    };
  }

  /** An ObjectStore whose writes count toward the current invocation's crash. */
  crashableStore(store: ObjectStore): ObjectStore {
    return {
      get: (ref, options) => store.get(ref, options),
      openRead: (ref) => store.openRead(ref),
      head: (ref) => store.head(ref),
      delete: (ref) => store.delete(ref),
      list: (bucket, prefix) => store.list(bucket, prefix),
      put: async (ref: ObjectRef, body: Uint8Array, options: PutOptions) => {
        const current = invocation.getStore();
        // A crashed runtime writes nothing more, not even the writes that were already under way.
        if (current?.crashed) throw Object.assign(new Error('the invocation crashed'), { name: 'Lambda.Unknown' });
        const written = await store.put(ref, body, options);
        if (current?.crashed) throw Object.assign(new Error('the invocation crashed'), { name: 'Lambda.Unknown' });
        if (current?.crashAfter !== undefined && ++current.writes >= current.crashAfter) {
          current.crashed = true;
          current.onCrash();
          const crash = new Error(`injected crash after ${current.writes} writes`);
          crash.name = 'Lambda.Unknown';
          throw crash;
        }
        return written;
      },
    };
  }
}

const DYNAMO_WRITES = new Set(['PutItem', 'BatchWriteItem', 'DeleteItem', 'UpdateItem', 'TransactWriteItems']);

function isWrite(service: KillPoint['service'], request: IncomingMessage): boolean {
  if (service === 's3') return request.method === 'PUT' || request.method === 'POST' || request.method === 'DELETE';
  const target = String(request.headers['x-amz-target'] ?? '');
  return DYNAMO_WRITES.has(target.slice(target.indexOf('.') + 1));
}

const invocation = new AsyncLocalStorage<{ crashAfter?: number; writes: number; crashed?: boolean; onCrash: () => void }>();

/** The item an invocation is about (its source key), for per-item crash decisions. */
function itemKeyOf(event: unknown): string {
  const item = (event as { item?: { key?: unknown } } | undefined)?.item;
  return typeof item?.key === 'string' ? item.key : JSON.stringify(event) ?? '';
}

/** A number in [0, 1) from a string: the first 32 bits of its sha-256. */
function seededUnit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 4294967296;
}

/** Puts a gate in front of a server's request handling: a gate that answers returns true. */
export function gateServer(server: Server, gate: (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>): void {
  const listeners = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    Promise.resolve(gate(request, response)).then(
      (answered) => {
        if (!answered) for (const listener of listeners) listener.call(server, request, response);
      },
      (error: unknown) => {
        response.writeHead(500).end(String(error));
      },
    );
  });
}

function answerAfterBody(request: IncomingMessage, answer: () => void): void {
  request.resume();
  if (request.readableEnded) answer();
  else request.once('end', answer);
}
