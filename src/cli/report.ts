import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../local/report';
import { renderReportHtml } from '../local/report-html';
import { REPORT_PATH } from '../local/serve';
import { DEFAULT_DATA_DIR, type LocalStack, openLocalStack } from '../local/stack';
import { quote } from './run';

/** Where `serve`'s CDN view listens by default: the written report's images load from there. */
export const DEFAULT_CDN_URL = 'http://127.0.0.1:8081';

interface ReportFlags {
  dataDir: string;
  out?: string;
  baseUrl: string;
  json?: boolean;
}

/** Writes the report of the last run of an open stack to `<out>/index.html`; returns the file's absolute path. */
export async function writeReportFile(stack: LocalStack, out = join(stack.dataDir, 'report'), baseUrl = DEFAULT_CDN_URL): Promise<string> {
  const html = renderReportHtml(await buildReport(stack), baseUrl);
  await mkdir(out, { recursive: true });
  const file = join(out, 'index.html');
  await writeFile(file, html);
  return resolve(file);
}

/** The same for the last run in `dataDir` (opens and closes its stack). */
export async function writeReport(dataDir: string, out?: string, baseUrl?: string): Promise<string> {
  const stack = await openLocalStack(dataDir);
  try {
    return await writeReportFile(stack, out, baseUrl);
  } finally {
    await stack.close();
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a static HTML report of the last run: counts, throughput, gallery of every crop, duplicates, failures, durations')
    .option('--data-dir <dir>', 'local data (the last run there is reported)', DEFAULT_DATA_DIR)
    .option('--out <dir>', 'where to write index.html (default: <data-dir>/report)')
    .option('--base-url <url>', 'where the gallery loads images from (photo-scaler serve\'s CDN view; or the website, http://127.0.0.1:8080)', DEFAULT_CDN_URL)
    .option('--json', 'print one JSON object')
    .action(async (flags: ReportFlags) => {
      const file = await writeReport(flags.dataDir, flags.out, flags.baseUrl);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ file, servedAt: `${DEFAULT_CDN_URL}${REPORT_PATH}` })}\n`);
        return;
      }
      process.stdout.write(`Report: ${file}\n  its images load from ${flags.baseUrl}: npx photo-scaler serve --data-dir ${quote(flags.dataDir)}, then open ${DEFAULT_CDN_URL}${REPORT_PATH}\n`);
    });
}
