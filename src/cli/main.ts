/** `photo-scaler` — the command line. One file per command; this one only wires them. */
import { Command } from 'commander';

// The AWS SDK warns once per process that its 2027 releases need Node 22; the CLI supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('photo-scaler')
  .description('Move a photo library into S3 as content-addressed, deduplicated, pre-sized images — on AWS or locally.')
  .showHelpAfterError();

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: one command's process does not load
 * every other's (the AWS control-plane clients, the CDN view, the plan's tables), which costs start-up
 * time and memory (a plan of a million-row report stays under 200 MB: bench --only plan). Help, or a
 * name that is no command, loads them all, in this order (the order `--help` lists them).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run')).registerRun,
  serve: async () => (await import('./serve')).registerServe,
  demo: async () => (await import('./demo')).registerDemo,
  sign: async () => (await import('./sign')).registerSign,
  estimate: async () => (await import('./estimate')).registerEstimate,
  plan: async () => (await import('./plan')).registerPlan,
  verify: async () => (await import('./verify')).registerVerify,
  redrive: async () => (await import('./redrive')).registerRedrive,
  repair: async () => (await import('./repair')).registerRepair,
  prune: async () => (await import('./prune')).registerPrune,
  report: async () => (await import('./report')).registerReport,
  start: async () => (await import('./start')).registerStart,
  status: async () => (await import('./status')).registerStatus,
  inventory: async () => (await import('./inventory')).registerInventory,
};

const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  process.stderr.write(`photo-scaler: ${message}\n`);
  process.exitCode = 1;
});

