/** Environment as handed to the loader; nothing else in the project reads process.env. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Expands `${VAR}` and `${VAR:-default}` in YAML text before it is parsed, so one file can
 * serve several hosts. Rules, chosen to be unsurprising next to shell and Docker Compose:
 * - an unset `${VAR}` becomes the empty string;
 * - `${VAR:-default}` uses the default when VAR is unset or empty;
 * - `$${` is an escape for a literal `${`;
 * - a bare `$VAR` is left alone, because `$` is common in regexes (`exe_path: "server$"`);
 * - anything that is not `${NAME}` / `${NAME:-...}` with NAME = [A-Za-z_][A-Za-z0-9_]* is kept
 *   as written.
 * The default text runs to the first `}` and is not itself expanded.
 */
export function expandEnv(text: string, env: Env): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) break;
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    const expansion = text.startsWith("${", dollar) ? readExpansion(text, dollar + 2) : undefined;
    if (expansion === undefined) {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const value = env[expansion.name];
    if (expansion.fallback !== undefined) {
      out += value === undefined || value === "" ? expansion.fallback : value;
    } else {
      out += value ?? "";
    }
    i = expansion.end;
  }
  return out + text.slice(i);
}

interface Expansion {
  name: string;
  fallback: string | undefined;
  /** Index just past the closing brace. */
  end: number;
}

function readExpansion(text: string, start: number): Expansion | undefined {
  let i = start;
  while (i < text.length && isNameChar(text.charCodeAt(i), i === start)) i++;
  if (i === start) return undefined;
  const name = text.slice(start, i);
  if (text[i] === "}") return { name, fallback: undefined, end: i + 1 };
  if (!text.startsWith(":-", i)) return undefined;
  const close = text.indexOf("}", i + 2);
  // A default may not span lines: an unclosed `${X:-` is far more likely a typo.
  const newline = text.indexOf("\n", i + 2);
  if (close < 0 || (newline >= 0 && newline < close)) return undefined;
  return { name, fallback: text.slice(i + 2, close), end: close + 1 };
}

function isNameChar(code: number, first: boolean): boolean {
  const letter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  return letter || (!first && code >= 48 && code <= 57);
}
