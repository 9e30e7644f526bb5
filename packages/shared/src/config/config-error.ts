/**
 * The one error type for configuration the user wrote. It names where the bad value came from
 * (a YAML field path or an environment variable), the value, and what would have been accepted,
 * so that a start-up failure can be fixed without reading our source.
 */

/** Where a configuration value came from; decides how the message names it. */
export type ConfigSource = "yaml" | "env" | "crd";

export interface ConfigErrorOptions {
  /** Default "yaml". */
  source?: ConfigSource;
  /** Replaces `value "..." is not allowed`, for problems that are not about one value. */
  problem?: string;
  /** The YAML file name, when known, for the message only. */
  file?: string;
  cause?: unknown;
}

export class ConfigError extends Error {
  /** Field path (`discovery.services[1].open_ports`) or environment variable name. */
  readonly field: string;
  readonly value: unknown;
  /** Human description of what is accepted. */
  readonly allowed: string;
  readonly source: ConfigSource;
  readonly problem: string;
  readonly file: string | undefined;

  constructor(field: string, value: unknown, allowed: string, options: ConfigErrorOptions = {}) {
    const source = options.source ?? "yaml";
    const problem = options.problem ?? `value ${formatValue(value)} is not allowed`;
    // A file name only makes sense for values that came from the file.
    const file = source === "env" ? undefined : options.file;
    const where = source === "env" ? `environment variable "${field}"` : `field "${field}"`;
    const prefix = file === undefined ? "" : `${file}: `;
    super(`config: ${prefix}${where}: ${problem}; allowed: ${allowed}`, { cause: options.cause });
    this.name = "ConfigError";
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    this.source = source;
    this.problem = problem;
    this.file = file;
  }

  /** The same error attributed to a file, so parsing helpers need not know the file name. */
  withFile(file: string | undefined): ConfigError {
    if (file === undefined || this.source === "env" || this.file !== undefined) return this;
    return new ConfigError(this.field, this.value, this.allowed, {
      source: this.source,
      problem: this.problem,
      file,
      cause: this.cause,
    });
  }
}

/** Strings are quoted; other values are shown as JSON, cut short so a message stays one line. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `one of a, b, c` for enum messages. */
export function oneOf(values: readonly string[]): string {
  return `one of ${values.join(", ")}`;
}
