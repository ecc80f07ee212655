/**
 * The HTTP API locally: `GET /dynamic/{size}/{key+}` on 127.0.0.1, turned into the API Gateway
 * payload-v2 event the Lambda receives, handled by the same handler.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DYNAMIC } from '../core/layout';
import type { HttpApiEvent, HttpApiResult } from '../handlers/on-demand';

export interface LocalApi {
  url: string;
  host: string;
  /** How many requests reached the handler. */
  invocations(): number;
  close(): Promise<void>;
}

export async function startLocalApi(handler: (event: HttpApiEvent) => Promise<HttpApiResult>, port = 0): Promise<LocalApi> {
  let invocations = 0;
  const server = createServer((request, response) => {
    const [rawPath = '/', rawQueryString = ''] = (request.url ?? '/').split(/\?(.*)/s);
    if (request.method !== 'GET' || !rawPath.startsWith(`/${DYNAMIC}/`)) {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    invocations++;
    const queryStringParameters = Object.fromEntries(new URLSearchParams(rawQueryString));
    handler({ rawPath, rawQueryString, queryStringParameters })
      .then((result) => response.writeHead(result.statusCode, result.headers).end(result.body))
      .catch((error: unknown) => {
        response.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: 'Internal Server Error' }));
        process.stderr.write(`on-demand handler failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${bound}`,
    host: `${address}:${bound}`,
    invocations: () => invocations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
