/** A Log that keeps every line, for assertions on warnings (and on what is never logged). */
import type { Log } from "../logger.js";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: Record<string, unknown>;
}

export class RecordingLog implements Log {
  readonly lines: LogLine[] = [];

  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: "debug", msg, fields });
  }
  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: "info", msg, fields });
  }
  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: "warn", msg, fields });
  }
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: "error", msg, fields });
  }

  /** Messages of one level. */
  messages(level: LogLine["level"]): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg);
  }

  /** Everything logged, as text (errors by message and causes). */
  text(): string {
    return this.lines
      .map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.fields, errorsAsText)}`)
      .join("\n");
  }
}

function errorsAsText(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  let text = value.message;
  for (let c = value.cause; c instanceof Error; c = c.cause) text += `: ${c.message}`;
  return text;
}
