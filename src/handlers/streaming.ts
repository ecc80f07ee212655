/**
 * Lambda response streaming (Lambda Developer Guide, "Response streaming for Lambda functions"): a
 * handler wrapped by `awslambda.streamifyResponse` writes its body to a stream, up to 200 MB through
 * a function URL in RESPONSE_STREAM mode ("Invoking a response streaming enabled function using Lambda
 * function URLs"), instead of returning at most 6 MB.
 *
 * The Node.js runtime provides `awslambda` as a global; everywhere else (tests, `serve`'s CDN view)
 * this module provides the same two functions, written to behave as the runtime interface client's
 * (aws/aws-lambda-nodejs-runtime-interface-client, src/UserFunction.js and src/HttpResponseStream.js):
 * `streamifyResponse` marks the handler with the runtime's symbol, and `HttpResponseStream.from`
 * sets the prelude content type and writes the JSON prelude plus 8 NUL bytes before the first chunk.
 * The runtime exempts marked handlers from its three-parameter (callback) check (src/WarningForCallbackHandlers.js).
 */
import type { Writable } from 'node:stream';

/** The stream the runtime hands a streaming handler. */
export interface ResponseStream extends Writable {
  setContentType(contentType: string): void;
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
}

export interface HttpPrelude {
  statusCode: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

export type StreamingHandler<E> = (event: E, responseStream: ResponseStream, context?: unknown) => Promise<void>;

interface LambdaStreaming {
  streamifyResponse<E>(handler: StreamingHandler<E>): StreamingHandler<E>;
  HttpResponseStream: { from(stream: ResponseStream, prelude: HttpPrelude): ResponseStream };
}

export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const STREAM_RESPONSE = 'response';
export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
export const PRELUDE_DELIMITER_BYTES = 8;

const standIn: LambdaStreaming = {
  streamifyResponse(handler) {
    (handler as unknown as Record<symbol, string>)[HANDLER_STREAMING] = STREAM_RESPONSE;
    return handler;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(PRELUDE_CONTENT_TYPE);
      const json = JSON.stringify(prelude);
      stream._onBeforeFirstWrite = (write) => {
        write(json);
        write(new Uint8Array(PRELUDE_DELIMITER_BYTES));
      };
      return stream;
    },
  },
};

/**
 * The runtime's `awslambda` on Lambda, the stand-in elsewhere. Its presence alone proves nothing:
 * @aws/lambda-invoke-store (under Powertools) puts an `awslambda` object on globalThis everywhere.
 */
export function lambdaStreaming(): LambdaStreaming {
  // @types/aws-lambda declares the runtime's global `awslambda`; read it as the part this module uses.
  const runtime = (globalThis as unknown as { awslambda?: Partial<LambdaStreaming> }).awslambda;
  return typeof runtime?.streamifyResponse === 'function' && runtime.HttpResponseStream ? (runtime as LambdaStreaming) : standIn;
}

export function isStreamingHandler(handler: unknown): boolean {
  return typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING] === STREAM_RESPONSE;
}
