/**
 * A Lambda function URL in RESPONSE_STREAM mode, locally: the request becomes the payload-2.0 event
 * the function receives (path still percent-encoded), the streaming handler writes to a response
 * stream, and what it writes is read back as the function URL frontend reads it: with the
 * `application/vnd.awslambda.http-integration-response` content type, a JSON prelude (status,
 * headers) up to 8 NUL bytes, then the body (src/handlers/streaming.ts names the sources).
 */
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { type FunctionUrlEvent } from '../handlers/resolve';
import { type HttpPrelude, PRELUDE_CONTENT_TYPE, PRELUDE_DELIMITER_BYTES, type ResponseStream, type StreamingHandler } from '../handlers/streaming';

/** Where the function's answer goes: status and headers once, then body chunks. */
export interface ResponseSink {
  head(statusCode: number, headers: Record<string, string>): void;
  /** Resolves when the chunk may be followed by another (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  end(): void;
  /** The function failed after the head was sent: the connection is cut. */
  abort(error: Error): void;
}

export function functionUrlEvent(request: Pick<IncomingMessage, 'url' | 'method' | 'headers'>): FunctionUrlEvent {
  const [rawPath = '/', rawQueryString = ''] = (request.url ?? '/').split(/\?(.*)/s);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  const query = new URLSearchParams(rawQueryString);
  return {
    rawPath,
    rawQueryString,
    queryStringParameters: rawQueryString ? Object.fromEntries(query) : undefined,
    headers,
    requestContext: { http: { method: (request.method ?? 'GET').toUpperCase() } },
  };
}

/** Runs a streaming handler for one request; its answer goes to the sink. */
export async function invokeStreaming(handler: StreamingHandler<FunctionUrlEvent>, event: FunctionUrlEvent, sink: ResponseSink): Promise<void> {
  const stream = new LocalResponseStream(sink);
  try {
    await handler(event, stream);
    if (!stream.writableEnded) await new Promise<void>((resolve) => stream.end(resolve));
    else if (!stream.writableFinished) await new Promise<void>((resolve) => stream.once('finish', resolve));
    stream.finishHead();
    sink.end();
  } catch (error) {
    // Before the head: the function URL answers 502; after it, the connection is cut.
    if (!stream.headSent) {
      sink.head(502, { 'Content-Type': 'application/json' });
      sink.end();
    } else {
      sink.abort(error instanceof Error ? error : new Error(String(error)));
    }
    process.stderr.write(`resolve handler failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}

class LocalResponseStream extends Writable implements ResponseStream {
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  headSent = false;
  private contentType = 'application/octet-stream';
  private written = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly sink: ResponseSink) {
    super();
  }

  setContentType(contentType: string): void {
    if (this.written) throw new Error('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.written && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((first) => super.write(first));
    }
    this.written = true;
    return super.write(chunk as Uint8Array, encoding as BufferEncoding, callback as () => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.accept(chunk).then(() => callback(), callback);
  }

  private async accept(chunk: Buffer): Promise<void> {
    if (this.headSent) return this.sink.write(chunk);
    if (this.contentType !== PRELUDE_CONTENT_TYPE) {
      this.sendHead({ statusCode: 200, headers: { 'Content-Type': this.contentType } });
      return this.sink.write(chunk);
    }
    this.pending = Buffer.concat([this.pending, chunk]);
    const end = this.pending.indexOf(Buffer.alloc(PRELUDE_DELIMITER_BYTES));
    if (end === -1) return;
    this.sendHead(JSON.parse(this.pending.subarray(0, end).toString('utf8')) as HttpPrelude);
    const rest = this.pending.subarray(end + PRELUDE_DELIMITER_BYTES);
    this.pending = Buffer.alloc(0);
    if (rest.byteLength > 0) await this.sink.write(rest);
  }

  /** A function that wrote nothing at all answers 200 with an empty body. */
  finishHead(): void {
    if (!this.headSent) this.sendHead({ statusCode: 200, headers: {} });
  }

  private sendHead(prelude: HttpPrelude): void {
    this.headSent = true;
    this.sink.head(prelude.statusCode, prelude.headers ?? {});
  }
}
