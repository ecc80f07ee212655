/** `photo-scaler` — the command line. One file per command; this one only wires them. */
import { Command } from 'commander';
import { registerDemo } from './demo';
import { registerInventory } from './inventory';
import { registerStart } from './start';
import { registerStatus } from './status';
import { registerEstimate } from './estimate';
import { registerPlan } from './plan';
import { registerPrune } from './prune';
import { registerRedrive } from './redrive';
import { registerRepair } from './repair';
import { registerReport } from './report';
import { registerRun } from './run';
import { registerServe } from './serve';
import { registerSign } from './sign';
import { registerVerify } from './verify';

// The AWS SDK warns once per process that its 2027 releases need Node 22; the CLI supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('photo-scaler')
  .description('Move a photo library into S3 as content-addressed, deduplicated, pre-sized images — on AWS or locally.')
  .showHelpAfterError();
registerRun(program);
registerServe(program);
registerDemo(program);
registerSign(program);
registerEstimate(program);
registerPlan(program);
registerVerify(program);
registerRedrive(program);
registerRepair(program);
registerPrune(program);
registerReport(program);
registerStart(program);
registerStatus(program);
registerInventory(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  process.stderr.write(`photo-scaler: ${message}\n`);
  process.exitCode = 1;
});

