/** `photo-scaler` — the command line. One file per command; this one only wires them. */
import { Command } from 'commander';
import { registerDemo } from './demo';
import { registerRun } from './run';
import { registerServe } from './serve';

quietNodeVersionWarning();

const program = new Command()
  .name('photo-scaler')
  .description('Move a photo library into S3 as content-addressed, deduplicated, pre-sized images — on AWS or locally.')
  .showHelpAfterError();
registerRun(program);
registerServe(program);
registerDemo(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  process.stderr.write(`photo-scaler: ${message}\n`);
  process.exitCode = 1;
});

/** The AWS SDK warns on every client creation that a future release needs Node 22; keep other warnings. */
function quietNodeVersionWarning(): void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'NodeVersionSupportWarning') return;
    for (const listener of defaults) listener(warning);
  });
}
