/**
 * One HTTP(S) GET to an address checked by url-check.ts: the socket connects to that address (the
 * lookup is pinned, so DNS is not asked again), TLS still verifies the certificate for the URL's
 * hostname (SNI), redirects are not followed here (fetch.ts follows them, checking each hop).
 * Bounded: a connect timeout, a read timeout (no byte for that long, before or after the headers) and
 * a total deadline; the response body is a stream, never buffered here.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { CheckedUrl } from './url-check';

export interface HttpTimeouts {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** When the whole request (headers and body) must be over, `performance.now()` time. */
  deadline: number;
}

export interface OriginResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Throws TransferError when the connection fails mid-body, a timeout strikes, or the body is shorter than its Content-Length. */
  body: AsyncIterable<Uint8Array>;
  /** Closes the connection (a body left unread). */
  close(): void;
}

/** The connection failed: before the response (`phase` 'connect'), or during its body ('body'). */
export class TransferError extends Error {
  override name = 'TransferError';
  constructor(
    readonly phase: 'connect' | 'body',
    message: string,
  ) {
    super(message);
  }
}

export function httpGet(target: CheckedUrl, timeouts: HttpTimeouts): Promise<OriginResponse> {
  const { url } = target;
  const client = url.protocol === 'https:' ? https : http;
  // Connect to the checked address, whatever a resolver would now say (autoSelectFamily asks with `all`).
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
  return new Promise((resolve, reject) => {
    let settled = false;
    let failure: TransferError | undefined;
    let timer: NodeJS.Timeout | undefined;
    const request = client.request({
      protocol: url.protocol,
      host: isIP(target.hostname) ? target.address : target.hostname,
      port: target.port,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      lookup,
      agent: false,
      ...(url.protocol === 'https:' && !isIP(target.hostname) ? { servername: target.hostname } : {}),
      headers: { 'user-agent': 'photo-scaler (sources run)', accept: 'image/*, */*;q=0.5', 'accept-encoding': 'identity', host: url.host },
    });
    const fail = (phase: 'connect' | 'body', message: string) => {
      const error = new TransferError(phase, message);
      failure ??= error;
      request.destroy(error);
      if (!settled) {
        settled = true;
        reject(error);
      }
      return error;
    };
    let connected = false;
    const deadlineLeft = () => Math.max(1, timeouts.deadline - performance.now());
    timer = setTimeout(() => fail('connect', `no connection within ${timeouts.connectTimeoutMs} ms`), Math.min(timeouts.connectTimeoutMs, deadlineLeft()));
    request.on('socket', (socket) => {
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(() => fail(settled ? 'body' : 'connect', 'the deadline of this fetch passed'), deadlineLeft());
      });
    });
    // Idle: no byte for readTimeoutMs (waiting for the headers, or between chunks of the body).
    request.setTimeout(timeouts.readTimeoutMs, () => fail(settled ? 'body' : 'connect', `no byte for ${timeouts.readTimeoutMs} ms`));
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(error instanceof TransferError ? error : new TransferError('connect', `${connected ? 'connection failed' : 'could not connect'}: ${error.code ?? error.message}`));
      }
    });
    request.on('response', (response: IncomingMessage) => {
      settled = true;
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: bodyOf(response, () => clearTimeout(timer), () => failure),
        close: () => {
          clearTimeout(timer);
          request.destroy();
        },
      });
    });
    request.end();
  });
}

async function* bodyOf(response: IncomingMessage, done: () => void, failure: () => TransferError | undefined): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  try {
    for await (const chunk of response) {
      bytes += (chunk as Buffer).byteLength;
      yield chunk as Buffer;
    }
  } catch (error) {
    if (error instanceof TransferError) throw error;
    const timedOut = failure();
    if (timedOut) throw new TransferError('body', `${timedOut.message} after ${bytes} bytes of the body`);
    const expected = response.headers['content-length'];
    throw new TransferError('body', `the connection closed after ${bytes}${expected ? ` of ${expected}` : ''} bytes (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    done();
    response.destroy();
  }
}
