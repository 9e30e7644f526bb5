/** Leveled logger: one line per message on stderr, `key=value` fields. */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export class Logger implements Log {
  constructor(
    private readonly level: Level = "info",
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + "\n"),
  ) {}

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }

  private log(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    let line = `time=${new Date().toISOString()} level=${level} msg=${JSON.stringify(msg)}`;
    for (const [k, v] of Object.entries(fields ?? {})) line += ` ${k}=${formatValue(v)}`;
    this.write(line);
  }
}

/** A logger that drops everything (tests). */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

function formatValue(v: unknown): string {
  if (v instanceof Error) {
    let text = v.message;
    for (let c = v.cause; c instanceof Error; c = c.cause) text += `: ${c.message}`;
    return JSON.stringify(text);
  }
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** The message of an error and its causes, for status conditions and logs. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  for (let c = err.cause; c instanceof Error; c = c.cause) text += `: ${c.message}`;
  return text;
}
