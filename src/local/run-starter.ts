/**
 * The RunStarter of the embedded default: what StartExecution is on AWS, the local executor is here.
 * Execution names are unique per data dir, as they are per state machine on AWS: starting a name that
 * already ran finds that run (alreadyStarted) instead of running it twice. Unlike StartExecution,
 * start() returns when the run has finished.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunInput, RunStarter, StartedExecution } from '../core/run-start';
import { localExecutionArn } from './asl';
import { executeMigration, type LocalRunOptions, type LocalRunResult } from './migrate';
import type { LocalStack } from './stack';

export const EXECUTIONS_DIR = 'executions';

export class LocalRunStarter implements RunStarter {
  /** Runs this starter ran, by execution name (for tests and the CLI). */
  readonly results = new Map<string, LocalRunResult>();

  constructor(
    private readonly stack: LocalStack,
    private readonly options: Pick<LocalRunOptions, 'onProgress' | 'timeScale'> = {},
  ) {}

  async start(name: string, input: RunInput): Promise<StartedExecution> {
    const executionArn = localExecutionArn(name);
    const dir = join(this.stack.dataDir, EXECUTIONS_DIR);
    const record = join(dir, `${name}.json`);
    await mkdir(dir, { recursive: true });
    // Claimed before it runs, with the exclusive flag: of two starts of one name, one runs.
    try {
      await writeFile(record, `${JSON.stringify({ name, input, status: 'RUNNING' })}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { executionArn, alreadyStarted: true };
      throw error;
    }
    const result = 'sources' in input ? await executeMigration(this.stack, input.sources, { ...this.options, name, sources: true }) : await executeMigration(this.stack, input.manifest, { ...this.options, name });
    this.results.set(name, result);
    await writeFile(record, `${JSON.stringify({ name, input, status: result.status, summary: result.summary }, null, 2)}\n`);
    return { executionArn, alreadyStarted: false };
  }
}
