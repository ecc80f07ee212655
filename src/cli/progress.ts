/** `[#########---------------------]`: `done` of `total` as `width` cells (empty when the total is 0). */
export function bar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.min(width, Math.max(0, Math.round((done / total) * width))) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** A one-line progress bar on stderr (only when stderr is a terminal; stdout stays clean for --json). */
export interface ProgressBar {
  update(done: number, total: number, note?: string): void;
  done(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const started = performance.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total, note = '') {
      const now = performance.now();
      if (done < total && now - last < 100) return;
      last = now;
      shown = true;
      const rate = done / Math.max((now - started) / 1000, 0.001);
      stream.write(`\r${label} ${bar(done, total)} ${done}/${total} ${rate.toFixed(1)}/s ${note}\x1b[K`);
    },
    done() {
      if (shown) stream.write('\n');
    },
  };
}
