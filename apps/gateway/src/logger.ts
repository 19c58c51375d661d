import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";

export interface LoggerSettings {
  readonly level: string;
  /** Human-readable lines (stdout is a terminal) instead of JSON. */
  readonly pretty: boolean;
  /** Fields on every line. */
  readonly base: Record<string, unknown>;
}

const redact = { paths: ["secret", "*.secret", "secrets", "*.secrets", "config.hubs[*].secrets"], censor: "[redacted]" };

/** Creates the process's stdout destination once; every logger shares it. */
export function createStdout(settings: LoggerSettings): DestinationStream {
  return settings.pretty ? pretty({ sync: true, colorize: true }) : pino.destination({ dest: 1, sync: false });
}

function options(settings: LoggerSettings): LoggerOptions {
  return { level: settings.level, base: settings.base, redact, timestamp: pino.stdTimeFunctions.isoTime };
}

/** The node's logger, on stdout. */
export function createLogger(settings: LoggerSettings, stdout: DestinationStream): Logger {
  return pino(options(settings), stdout);
}

/**
 * A hub's logger: the node's stdout plus, when the hub has a `Log` file, that file
 * (JSON lines, appended), as webrocket's per-hub `Log` did.
 */
export function createHubLogger(settings: LoggerSettings, stdout: DestinationStream, hubPath: string, logFile: string): Logger {
  const base = { ...settings.base, hub: hubPath };
  if (logFile === "") return pino({ ...options(settings), base }, stdout);
  const file = pino.destination({ dest: logFile, append: true, mkdir: true, sync: false });
  return pino(
    { ...options(settings), base },
    pino.multistream([
      { level: settings.level as pino.Level, stream: stdout },
      { level: settings.level as pino.Level, stream: file },
    ]),
  );
}
