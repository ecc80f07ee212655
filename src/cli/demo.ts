import { join } from 'node:path';
import type { Command } from 'commander';
import { writeSamplePhotos } from '../local/samples';
import { DEFAULT_DATA_DIR } from '../local/stack';
import { LOG_FILE } from '../local/logs';
import { REPORT_PATH } from '../local/serve';
import { DEFAULT_CDN_URL, writeReport } from './report';
import { humanSummary, quote, runWithProgress } from './run';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate a small sample library (with a duplicate and a corrupt photo) and run it locally (what `npm start` does)')
    .option('--data-dir <dir>', 'where the emulated buckets and table persist', DEFAULT_DATA_DIR)
    .action(async (flags: { dataDir: string }) => {
      const photos = join(flags.dataDir, 'sample-photos');
      const files = await writeSamplePhotos(photos);
      process.stdout.write(`Sample library: ${files.length} files in ${photos} (one exact duplicate, one truncated JPEG)\n`);
      const result = await runWithProgress({ photos, dataDir: flags.dataDir });
      process.stdout.write(humanSummary(result, flags.dataDir));
      const report = await writeReport(flags.dataDir);
      process.stdout.write(
        [
          '',
          `Report: ${report}`,
          `  see it with its images: npx photo-scaler serve --data-dir ${quote(flags.dataDir)}, then open ${DEFAULT_CDN_URL}${REPORT_PATH}`,
          `  logs and metrics of every Lambda call: ${join(flags.dataDir, LOG_FILE)}`,
          '',
          'Next:',
          `  npx photo-scaler serve --data-dir ${quote(flags.dataDir)}      # then open http://127.0.0.1:8081/small/landscapes/dawn.jpg`,
          `  npx photo-scaler run --photos <your folder> --data-dir ${quote(flags.dataDir)}`,
          '',
        ].join('\n'),
      );
      if (result.status !== 'SUCCEEDED') process.exitCode = 1;
    });
}
