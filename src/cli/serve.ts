import type { Command } from 'commander';
import { LOCAL_NAMES, DEFAULT_DATA_DIR, openLocalStack } from '../local/stack';
import { startWebsite } from '../local/website';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the library bucket as an S3 website on 127.0.0.1 (pointers answer 301, assets 200) until stopped')
    .option('--data-dir <dir>', 'where the emulated buckets and table persist', DEFAULT_DATA_DIR)
    .option('--port <port>', 'port on 127.0.0.1', (value) => parsePort(value), 8080)
    .action(async (flags: { dataDir: string; port: number }) => {
      const stack = await openLocalStack(flags.dataDir);
      const website = await startWebsite({ store: stack.store, bucket: LOCAL_NAMES.libraryBucket, port: flags.port });
      process.stdout.write(`Serving the library of ${flags.dataDir} at ${website.url}/ (Ctrl-C to stop)\n`);
      process.stdout.write(`  e.g. curl -L ${website.url}/small/<key>   (a pointer answers 301 to /assets/...)\n`);
      const stop = async () => {
        await website.close();
        await stack.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${value}`);
  return port;
}
