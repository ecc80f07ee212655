/**
 * The Fetch Task of statemachines/migrate.asl.yaml (a sources run, issue 20): one row of the sources
 * CSV in (`{row, runId}`), its original copied into the source bucket, the item Dedupe takes out
 * (src/core/fetch/fetch.ts). One log line per row — the key, the URL redacted (never its query or
 * userinfo), bytes, milliseconds, tries — and the error (its message redacted by the core) when it
 * fails; the state machine's Catch records it FAILED with its reason.
 *
 * Environment: SOURCE_BUCKET (the only bucket it writes), FETCH_ALLOW_HOSTS (the allowlist,
 * comma-separated `host[:port]`, `*.domain`, `s3://bucket`; empty = nothing is fetched).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Context } from 'aws-lambda';
import { sharedS3Client } from '../aws/clients';
import { S3ObjectStore } from '../aws/s3-store';
import { config } from '../config';
import { ConfigError } from '../core/errors';
import { DEFAULT_FETCH_OPTIONS, type FetchContext, type FetchedItem, fetchSource } from '../core/fetch/fetch';
import { type AllowedHost, type Lookup, parseAllowHost, redactUrl } from '../core/fetch/url-check';
import { validateConfig } from '../core/presets';
import { derivedPrefixOf } from '../core/source';
import { required } from './context';
import { makeLogger, type Telemetry } from './observe';

export interface FetchEvent {
  /** The CSV row as the ItemReader gives it: `{key, url, …}`, strings. */
  row: Record<string, unknown>;
  runId: string;
}

/** Every address of a hostname, as the system resolver gives them (checked one by one by url-check.ts). */
export const systemLookup: Lookup = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

/** `FETCH_ALLOW_HOSTS`, `--allow-host`: entries separated by commas or whitespace. Throws ConfigError naming a bad one. */
export function parseAllowlist(specs: readonly string[]): AllowedHost[] {
  return specs
    .flatMap((spec) => spec.split(/[\s,]+/))
    .filter(Boolean)
    .map((spec) => {
      try {
        return parseAllowHost(spec);
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
    });
}

export function fetchContextFromEnv(env: NodeJS.ProcessEnv = process.env): FetchContext {
  const store = new S3ObjectStore(sharedS3Client());
  const presets = validateConfig(config);
  return {
    store,
    uploads: store,
    sourceBucket: required(env, 'SOURCE_BUCKET'),
    maxInputBytes: config.limits.maxInputBytes,
    presetNames: presets.map((preset) => preset.name),
    derivedPrefixBytes: derivedPrefixOf({ presets, config }),
    // The Lambda's timeout is 40 s (serverless.yml): every try and wait fits in 35.
    options: { ...DEFAULT_FETCH_OPTIONS, deadlineMs: 35_000, allowlist: parseAllowlist([env.FETCH_ALLOW_HOSTS ?? '']), lookup: systemLookup },
  };
}

let cached: FetchContext | undefined;

export const makeFetchHandler = (context: () => FetchContext = () => (cached ??= fetchContextFromEnv()), telemetry: Telemetry = {}) =>
  async (event: FetchEvent, lambdaContext?: Context): Promise<FetchedItem> => {
    const row = event?.row ?? {};
    const logger = makeLogger('fetch', telemetry, {
      key: typeof row.key === 'string' ? row.key : undefined,
      from: typeof row.url === 'string' ? redactUrl(row.url) : undefined,
      execution: event?.runId,
    });
    if (lambdaContext) logger.addContext(lambdaContext);
    const started = performance.now();
    try {
      const item = await fetchSource(context(), row);
      logger.info(`fetch: ${item.copied.kept ? 'kept' : 'copied'}`, { ...item.copied, ms: item.copied.ms });
      return item;
    } catch (error) {
      // The message only (the core redacted every URL in it): no stack of a socket error, no cause.
      const { name, message } = error as Error;
      logger.warn('fetch: failed (the state machine catches it)', { ms: Math.round(performance.now() - started), error: { name, message: redactText(message) } });
      throw error;
    }
  };

/** A last guard: any URL left in a message loses its query and userinfo. */
export function redactText(text: string): string {
  return text.replace(/\b(?:https?|s3):\/\/[^\s"'<>]+/gi, (url) => redactUrl(url));
}

export const handler = makeFetchHandler();
