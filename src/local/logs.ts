/**
 * The local stand-in for CloudWatch Logs: the handlers' JSON log lines and EMF metric lines,
 * appended to one file under the data dir (`logs/lambda.ndjson`), one object per line.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export const LOG_FILE = 'logs/lambda.ndjson';

export interface LogFile {
  path: string;
  write: (line: string) => void;
  close: () => Promise<void>;
}

export async function openLogFile(path: string): Promise<LogFile> {
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'a' });
  let open = true;
  return {
    path,
    write: (line) => {
      if (open) stream.write(`${line}\n`);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!open) return resolve();
        open = false;
        stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      }),
  };
}
