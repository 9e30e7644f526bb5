/** Minimal leveled logger: one line per message on stderr, `key=value` fields. */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class Logger {
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
    for (const [k, v] of Object.entries(fields ?? {})) {
      line += ` ${k}=${formatValue(v)}`;
    }
    this.write(line);
  }
}

function formatValue(v: unknown): string {
  if (v instanceof Error) {
    const cause = v.cause instanceof Error ? `: ${v.cause.message}` : "";
    return JSON.stringify(v.message + cause);
  }
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
