import { ConfigError, type ConfigSource } from "./config-error.js";

export const PORT_RANGES_ALLOWED =
  'comma-separated ports and ranges between 1 and 65535, such as "80,443,8000-8999"';

/** One inclusive range; a single port has from === to. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/**
 * The reference agent's `open_port` / `open_ports` value: "80,443,8000-8999". A process matches
 * when any one of its open ports falls in any range.
 */
export class PortRanges {
  readonly ranges: readonly PortRange[];

  constructor(ranges: readonly PortRange[]) {
    for (const r of ranges) {
      if (!isPort(r.from) || !isPort(r.to) || r.from > r.to) {
        throw new RangeError(`invalid port range ${r.from}-${r.to}`);
      }
    }
    this.ranges = ranges.map((r) => ({ from: r.from, to: r.to }));
  }

  /**
   * Parses "80,443,8000-8999" (spaces around items allowed) or a YAML integer. Errors name
   * `field`, a YAML path or (with source "env") a variable name.
   */
  static parse(input: unknown, field = "open_port", source: ConfigSource = "yaml"): PortRanges {
    const fail = (problem?: string): ConfigError =>
      new ConfigError(field, input, PORT_RANGES_ALLOWED, { source, problem });
    let text: string;
    if (typeof input === "number") text = String(input);
    else if (typeof input === "string") text = input;
    else throw fail(`value ${JSON.stringify(input) ?? String(input)} is not a string or number`);
    if (text.trim() === "") throw fail();
    const ranges: PortRange[] = [];
    for (const raw of text.split(",")) {
      const item = raw.trim();
      const dash = item.indexOf("-");
      const from = parsePort(dash < 0 ? item : item.slice(0, dash));
      const to = dash < 0 ? from : parsePort(item.slice(dash + 1));
      if (typeof from === "string" || typeof to === "string") {
        const why =
          from === "out of range" || to === "out of range"
            ? "a port out of range"
            : "an invalid item";
        throw fail(`value ${JSON.stringify(text)} has ${why} ${JSON.stringify(item)}`);
      }
      if (from > to) {
        throw fail(`value ${JSON.stringify(text)} has a reversed range ${JSON.stringify(item)}`);
      }
      ranges.push({ from, to });
    }
    return new PortRanges(ranges);
  }

  includes(port: number): boolean {
    for (const r of this.ranges) {
      if (port >= r.from && port <= r.to) return true;
    }
    return false;
  }

  /** True when any of `ports` is included. */
  includesAny(ports: readonly number[]): boolean {
    for (const port of ports) {
      if (this.includes(port)) return true;
    }
    return false;
  }

  toJSON(): string {
    return this.toString();
  }

  /** Canonical text: "80,443,8000-8999", in the order given. */
  toString(): string {
    return this.ranges
      .map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`))
      .join(",");
  }
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Strict decimal port: digits only (no sign, no spaces inside, no "0x"), 1..65535. */
function parsePort(text: string): number | "not a number" | "out of range" {
  const t = text.trim();
  if (t === "") return "not a number";
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return "not a number";
  }
  const n = Number(t);
  return isPort(n) ? n : "out of range";
}
