/** Where a run reports how it is going: a live status line on a terminal, plain lines elsewhere. */
export interface Progress {
  /** Replaces the status line (ignored when not on a terminal). */
  update(line: string): void;
  /** A line worth keeping (phase results). */
  log(line: string): void;
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  const tty = enabled && stream.isTTY === true;
  let shown = false;
  return {
    update(line) {
      if (!tty) return;
      const width = (stream.columns ?? 120) - 1;
      stream.write(`\r\x1b[K${line.slice(0, width)}`);
      shown = line !== "";
    },
    log(line) {
      if (!enabled) return;
      if (tty && shown) stream.write("\r\x1b[K");
      shown = false;
      stream.write(`${line}\n`);
    },
  };
}
