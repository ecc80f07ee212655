/**
 * The emulators' clients without sockets: an SDK request handler that hands each request to the
 * emulator's own HTTP request listeners (the same gates, the same s3rver or dynalite code) in this
 * process, through a request and a response object of node:http's shape, instead of over a TCP
 * connection on 127.0.0.1. The SDK's serialisation, signing, retries and error parsing are unchanged
 * (the handler sits where NodeHttpHandler would: @smithy/node-http-handler's `handle(request)`); what
 * goes is the socket, Node's HTTP parser on both sides, and the connection pool.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders, Server } from 'node:http';
import { PassThrough, Readable, Writable } from 'node:stream';
import { HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import type { HttpHandlerOptions } from '@smithy/types';

/** Marks a request this transport made: one of this process's own clients, signed with the emulator's credentials. */
const IN_PROCESS = Symbol('photo-scaler.in-process');

/** True for a request of the in-process transport (not one that came over a socket). */
export function isInProcess(request: object): boolean {
  return (request as { [IN_PROCESS]?: boolean })[IN_PROCESS] === true;
}

/** A socket as the emulators' code looks at one: always writable, local, events accepted. */
class LoopbackSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly encrypted = false;
  writable = true;
  readable = true;
  destroyed = false;
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.writable = false;
    return this;
  }
  address() {
    return { address: '127.0.0.1', family: 'IPv4', port: 0 };
  }
}

/** The server side's response: collects the status and headers, streams the body to the client. */
class LoopbackResponse extends Writable {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  sendDate = false;
  finished = false;
  readonly socket: LoopbackSocket;
  readonly connection: LoopbackSocket;
  private readonly headers = new Map<string, OutgoingHttpHeader>();
  readonly body = new PassThrough();

  constructor(
    socket: LoopbackSocket,
    private readonly onHead: (response: LoopbackResponse) => void,
    /**
     * A HEAD's answer has no body, whatever the server writes (as node:http's ServerResponse does). On S3
     * "the response is identical to the GET response except that there is no response body", so an error
     * is a bare 404 or 403 (Amazon S3 API Reference, "HeadObject"), which the SDK names NotFound.
     */
    private readonly head = false,
  ) {
    super();
    this.socket = socket;
    this.connection = socket;
    this.on('finish', () => {
      this.finished = true;
      this.sendHead();
      this.body.end();
    });
  }

  setHeader(name: string, value: OutgoingHttpHeader): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }
  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.headers.get(name.toLowerCase());
  }
  getHeaders(): OutgoingHttpHeaders {
    return Object.fromEntries(this.headers);
  }
  getHeaderNames(): string[] {
    return [...this.headers.keys()];
  }
  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }
  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }
  writeHead(status: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    this.statusCode = status;
    const fields = typeof reason === 'string' ? headers : reason;
    if (typeof reason === 'string') this.statusMessage = reason;
    if (fields && !Array.isArray(fields)) for (const [name, value] of Object.entries(fields)) if (value !== undefined) this.setHeader(name, value);
    this.sendHead();
    return this;
  }
  flushHeaders(): void {
    this.sendHead();
  }
  /** The head goes to the client once: at the first byte of the body, or at the end. */
  sendHead(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.onHead(this);
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.sendHead();
    if (this.head) done();
    else if (this.body.write(chunk)) done();
    else this.body.once('drain', () => done());
  }
  /** A server that gives up mid-body (a read error) ends the client's body with that error, not silence. */
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (error) this.body.destroy(error);
    done(error);
  }
  headerFields(): Record<string, string> {
    return Object.fromEntries([...this.headers].map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]));
  }
}

export class InProcessHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  /**
   * `server`: the emulator's HTTP server, whose 'request' listeners (gates included) answer.
   * `headTimeoutMs`: an answer whose head has not come by then fails with TimeoutError (which the SDK
   * retries), as a socket idle that long would with the Node handler's socketTimeout.
   */
  constructor(
    private readonly server: Server,
    private readonly headTimeoutMs = 30_000,
  ) {}

  /** Requests answered so far (a test counts them against the server's connections). */
  handled = 0;

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    if (options.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    const socket = new LoopbackSocket();
    const query = Object.entries(request.query ?? {})
      .flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]))
      .map(([name, value]) => (value === null || value === undefined ? encodeURIComponent(name!) : `${encodeURIComponent(name!)}=${encodeURIComponent(value)}`))
      .join('&');
    const incoming = Object.assign(new Readable({ read() {} }), {
      method: request.method,
      url: `${request.path}${query ? `?${query}` : ''}`,
      headers: lowerCased({ host: `${request.hostname}${request.port ? `:${request.port}` : ''}`, ...request.headers }),
      rawHeaders: [] as string[],
      httpVersion: '1.1',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      socket,
      connection: socket,
      complete: false,
      aborted: false,
      [IN_PROCESS]: true,
    });
    this.handled++;
    return new Promise<{ response: HttpResponse }>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error(`no answer from the emulator within ${this.headTimeoutMs} ms`), { name: 'TimeoutError' }));
      }, this.headTimeoutMs);
      timer.unref();
      const response = new LoopbackResponse(
        socket,
        (head) => {
          clearTimeout(timer);
          resolve({ response: new HttpResponse({ statusCode: head.statusCode, reason: head.statusMessage, headers: head.headerFields(), body: head.body }) });
        },
        request.method === 'HEAD',
      );
      response.on('error', reject);
      (options.abortSignal as unknown as EventTarget | undefined)?.addEventListener?.('abort', () => {
        socket.destroy();
        reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
      });
      this.server.emit('request', incoming, response);
      feed(incoming, request.body).catch(reject);
    });
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

function lowerCased(headers: Record<string, string | undefined>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The request body into the server's request stream: a string, bytes or a stream, then its end. */
async function feed(incoming: Readable & { complete: boolean }, body: unknown): Promise<void> {
  // The emulators attach their listeners synchronously in 'request': what is pushed here reaches them.
  if (body === undefined || body === null) {
    // no body: only its end
  } else if (typeof body === 'string' || body instanceof Uint8Array) {
    incoming.push(typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  } else if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) incoming.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  } else {
    throw new TypeError(`cannot send a request body of type ${typeof body}`);
  }
  incoming.complete = true;
  incoming.push(null);
}
