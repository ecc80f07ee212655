import type { Command } from 'commander';
import { REPORT_PATH, startLocalServer } from '../local/serve';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the library bucket as an S3 website on 127.0.0.1 (pointers answer 301, assets 200; a miss under dynamic/ goes to the on-demand API) until stopped')
    .option('--data-dir <dir>', 'where the emulated buckets and table persist', DEFAULT_DATA_DIR)
    .option('--port <port>', 'website port on 127.0.0.1', parsePort, 8080)
    .option('--api-port <port>', 'on-demand API port on 127.0.0.1 (0 = any free port)', parsePort, 0)
    .action(async (flags: { dataDir: string; port: number; apiPort: number }) => {
      const stack = await openLocalStack(flags.dataDir);
      const server = await startLocalServer(stack, { port: flags.port, apiPort: flags.apiPort });
      const url = server.website.url;
      process.stdout.write(
        [
          `Serving the library of ${flags.dataDir} at ${url}/ (Ctrl-C to stop)`,
          `  report of the last run at ${url}${REPORT_PATH}`,
          `  on-demand API at ${server.api.url}/dynamic/<WxH>/<key>`,
          `  curl -L ${url}/small/<key>            a pointer answers 301 to /assets/...`,
          `  curl -L ${url}/dynamic/300x200/<key>  first time: 307 to the API, which renders and answers 301 back`,
          '',
        ].join('\n'),
      );
      const stop = async () => {
        await server.close();
        await stack.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${value}`);
  return port;
}
