import type { ProgressEvent } from '../ml/core/progress.ts';

/**
 * A one-line progress bar on a TTY (redrawn in place), one plain line per event otherwise (logs, CI).
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    update(e: ProgressEvent): void {
      const width = 24;
      const filled = Math.round(Math.max(0, Math.min(1, e.fraction)) * width);
      const epoch = e.epoch !== undefined ? ` epoch ${e.epoch}${e.epochs ? `/${e.epochs}` : ''}` : '';
      const loss = e.loss !== undefined ? ` loss ${formatLoss(e.loss)}` : '';
      const text = `${label}${epoch}${loss} ${e.seconds.toFixed(1)}s`;
      if (tty) {
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
        drawn = true;
      } else stream.write(`${text}\n`);
    },
    done(): void {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

function formatLoss(x: number): string {
  return Math.abs(x) >= 1000 ? x.toExponential(4) : x.toPrecision(5);
}
