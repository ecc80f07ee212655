/**
 * The CDN's origin for logical URLs: a Lambda function URL (AuthType AWS_IAM, reached only by
 * CloudFront through its origin access control; InvokeMode RESPONSE_STREAM). Every request is
 * resolved by src/core/resolve.ts and answered with the image's bytes, streamed — never a redirect.
 * Locally, `serve`'s CDN view invokes this same handler (src/local/cdn.ts).
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { currentSecret, SECRET_UNAVAILABLE, type SecretSource, ssmSigningSecret } from '../aws/signing-secret';
import type { OnDemandContext } from '../core/on-demand';
import { FORMAT_HEADER } from '../core/negotiate';
import { resolveLogical, type Resolution } from '../core/resolve';
import { contextFromEnv } from './context';
import { makeLogger, type Telemetry } from './observe';
import { lambdaStreaming, type ResponseStream } from './streaming';

/** A function URL request (payload format 2.0; the path stays percent-encoded). */
export type FunctionUrlEvent = Pick<LambdaFunctionURLEvent, 'rawPath'> &
  Partial<Pick<LambdaFunctionURLEvent, 'rawQueryString' | 'queryStringParameters' | 'headers'>> & { requestContext?: { http?: Partial<LambdaFunctionURLEvent['requestContext']['http']> } };

export interface ResolveEnvironment {
  context: OnDemandContext;
  /** On Lambda: the on-demand signing secret from SSM Parameter Store (cached). */
  signingSecret?: SecretSource;
}

const { streamifyResponse, HttpResponseStream } = lambdaStreaming();

export const makeResolveHandler = (environment: () => ResolveEnvironment, telemetry: Telemetry = {}) =>
  streamifyResponse(async (event: FunctionUrlEvent, responseStream: ResponseStream): Promise<void> => {
    const started = Date.now();
    const logger = makeLogger('resolve', telemetry, { path: event.rawPath });
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      return send(responseStream, 405, { 'Content-Type': 'application/json; charset=utf-8', Allow: 'GET, HEAD' }, JSON.stringify({ error: 'GET or HEAD only' }));
    }
    const { context, signingSecret } = environment();
    // Fails closed, and is not cached by the CDN: the next request tries again.
    const current = await currentSecret(context.signingSecret, signingSecret, (reason) => logger.error('resolve: signing secret unavailable', { status: 503, reason }));
    if (!current) return send(responseStream, 503, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }, JSON.stringify({ error: SECRET_UNAVAILABLE }));
    const resolution = await resolveLogical(
      { ...context, signingSecret: current.secret },
      {
        path: event.rawPath,
        signature: event.queryStringParameters?.sig,
        headOnly: method === 'HEAD',
        ifNoneMatch: header(event, 'if-none-match'),
        // The distribution's edge function's normalised choice (in the cache key); Accept when it is absent.
        format: header(event, FORMAT_HEADER),
        accept: header(event, 'accept'),
      },
    );
    logger.info(`resolve: ${resolution.status}`, summary(resolution, Date.now() - started));
    if (resolution.status !== 200) {
      return send(responseStream, resolution.status, { ...resolution.headers }, 'error' in resolution ? JSON.stringify({ error: resolution.error, ...(resolution.reason ? { reason: resolution.reason } : {}) }) : undefined);
    }
    // Content-Length is the function URL's to set on a streamed body (chunked): never ours.
    const { 'Content-Length': _length, ...headers } = resolution.headers;
    const stream = HttpResponseStream.from(responseStream, { statusCode: 200, headers: { ...headers } });
    if (!resolution.body) return end(stream);
    await pipeline(Readable.from(resolution.body), stream);
  });

function header(event: FunctionUrlEvent, name: string): string | undefined {
  return event.headers?.[name] ?? event.headers?.[name.toLowerCase()];
}

function summary(resolution: Resolution, ms: number): Record<string, unknown> {
  if ('error' in resolution) return { status: resolution.status, error: resolution.error, ms };
  if (resolution.status === 304) return { status: 304, logicalKey: resolution.logicalKey, ms };
  return { status: 200, logicalKey: resolution.logicalKey, assetKey: resolution.assetKey, rendered: resolution.rendered, ms };
}

function send(responseStream: ResponseStream, statusCode: number, headers: Record<string, string>, body?: string): Promise<void> {
  const stream = HttpResponseStream.from(responseStream, { statusCode, headers });
  if (body !== undefined) stream.write(body);
  return end(stream);
}

/** The prelude goes out before the first write: a body-less answer writes an empty chunk so it is sent. */
function end(stream: ResponseStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.write(new Uint8Array(0));
    stream.end(() => resolve());
  });
}

let cached: ResolveEnvironment | undefined;
export function lambdaEnvironment(env: NodeJS.ProcessEnv = process.env): ResolveEnvironment {
  if (cached) return cached;
  const context: OnDemandContext = { ...contextFromEnv(env), sourceBucket: env.SOURCE_BUCKET ?? '' };
  const parameter = env.SIGNING_SECRET_PARAMETER;
  cached = { context, signingSecret: parameter ? ssmSigningSecret(parameter) : undefined };
  return cached;
}

export const handler = makeResolveHandler(lambdaEnvironment);
