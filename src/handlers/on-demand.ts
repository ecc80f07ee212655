/**
 * `GET /dynamic/{size}/{key+}` on the HTTP API (payload v2), reached by the library website's
 * routing rule on a 404. Answers 301 back to the website (never image bytes: a Lambda response is
 * limited to 6 MB), or a short JSON error.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { currentSecret, SECRET_UNAVAILABLE, type SecretSource, ssmSigningSecret } from '../aws/signing-secret';
import { decodeUrlPath, encodeKeyPath } from '../core/cdn';
import { DYNAMIC } from '../core/layout';
import { type OnDemandContext, serveDynamic, splitVariantSize } from '../core/on-demand';
import { contextFromEnv } from './context';
import { makeLogger, type Telemetry } from './observe';

/** The fields of an HTTP API (payload format 2.0) request this handler reads. */
export type HttpApiEvent = Pick<APIGatewayProxyEventV2, 'rawPath'> & Partial<Pick<APIGatewayProxyEventV2, 'rawQueryString' | 'queryStringParameters'>>;

/** Always a status, headers and a body (a structured result, not a bare string). */
export type HttpApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

export interface OnDemandEnvironment {
  /** Its signingSecret is used when `signingSecret` below is absent (locally: from the environment). */
  context: OnDemandContext;
  /** The library bucket's website, e.g. http://<bucket>.s3-website-us-east-1.amazonaws.com */
  websiteUrl: string;
  /** On Lambda: the secret from SSM Parameter Store, read (and cached) per request. */
  signingSecret?: SecretSource;
}

const PATH = new RegExp(`/${DYNAMIC}/([^/]+)/(.+)$`);

export const makeOnDemandHandler =
  (environment: () => OnDemandEnvironment, telemetry: Telemetry = {}) =>
  async (event: HttpApiEvent): Promise<HttpApiResult> => {
    const logger = makeLogger('onDemand', telemetry, { path: event.rawPath });
    const match = PATH.exec(event.rawPath ?? '');
    const key = match ? decodeUrlPath(match[2]!) : undefined;
    const size = match ? decodeUrlPath(match[1]!) : undefined;
    if (!match || key === undefined || size === undefined) {
      logger.info('onDemand: refused', { status: 400 });
      return json(400, { error: 'expected /dynamic/<WxH>/<key>' });
    }
    const { context, websiteUrl, signingSecret } = environment();
    // Fails closed: without its secret no size is made, signed or not.
    const current = await currentSecret(context.signingSecret, signingSecret, (reason) => logger.error('onDemand: signing secret unavailable', { status: 503, reason }));
    if (!current) return json(503, { error: SECRET_UNAVAILABLE });
    // `dynamic/300x200.webp/<key>`: an explicit variant (config onDemand.formats), signed as its size.
    const named = splitVariantSize(size);
    const result = await serveDynamic({ ...context, signingSecret: current.secret }, { size: named.size, key, signature: event.queryStringParameters?.sig, ...(named.format ? { format: named.format } : {}) });
    logger.info(`onDemand: ${result.status}`, { status: result.status, key, ...(result.status === 301 ? { logicalKey: result.logicalKey } : { error: result.error }) });
    if (result.status !== 301) return json(result.status, { error: result.error, ...(result.reason ? { reason: result.reason } : {}) });
    const location = `${websiteUrl.replace(/\/+$/, '')}/${encodeKeyPath(result.logicalKey)}`;
    return { statusCode: 301, headers: { Location: location, 'Cache-Control': 'no-store' }, body: '' };
  };

function json(statusCode: number, body: object): HttpApiResult {
  return { statusCode, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, body: JSON.stringify(body) };
}


let cached: OnDemandEnvironment | undefined;
export function lambdaEnvironment(env: NodeJS.ProcessEnv = process.env): OnDemandEnvironment {
  if (cached) return cached;
  const context: OnDemandContext = { ...contextFromEnv(env), sourceBucket: env.SOURCE_BUCKET ?? '' };
  // Never a secret from the environment on Lambda: only the name of its SSM parameter.
  const parameter = env.SIGNING_SECRET_PARAMETER;
  cached = { context, websiteUrl: env.WEBSITE_URL ?? '', signingSecret: parameter ? ssmSigningSecret(parameter) : undefined };
  return cached;
}

export const handler = makeOnDemandHandler(lambdaEnvironment);
