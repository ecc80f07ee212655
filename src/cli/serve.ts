import type { Command } from 'commander';
import { REPORT_PATH, startLocalServer } from '../local/serve';
import { DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the library on 127.0.0.1 until stopped: the CDN view (every logical URL answers 200 with the image) and the S3 website (pointers answer 301; a miss under dynamic/ goes to the on-demand API)')
    .option('--data-dir <dir>', 'where the emulated buckets and table persist', DEFAULT_DATA_DIR)
    .option('--cdn-port <port>', 'CDN view port on 127.0.0.1 (what CloudFront serves on AWS)', parsePort, 8081)
    .option('--port <port>', 'website port on 127.0.0.1 (website mode)', parsePort, 8080)
    .option('--api-port <port>', 'on-demand API port on 127.0.0.1 (0 = any free port)', parsePort, 0)
    .action(async (flags: { dataDir: string; port: number; apiPort: number; cdnPort: number }) => {
      const stack = await openLocalStack(flags.dataDir);
      const server = await startLocalServer(stack, { port: flags.port, apiPort: flags.apiPort, cdnPort: flags.cdnPort });
      const cdn = server.cdn.url;
      const url = server.website.url;
      process.stdout.write(
        [
          `Serving the library of ${flags.dataDir} (Ctrl-C to stop)`,
          `CDN      ${cdn}/<key>, ${cdn}/<preset>/<key>, ${cdn}/dynamic/<WxH>/<key>: 200 with the image, never a redirect`,
          `  report of the last run at ${cdn}${REPORT_PATH}`,
          `  curl -o small.jpg ${cdn}/small/<key>`,
          `Website  ${url}/ (website mode: a pointer answers 301 to /assets/...; a new size under dynamic/: 307 to the API, then 301 back)`,
          `  on-demand API at ${server.api.url}/dynamic/<WxH>/<key>`,
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
