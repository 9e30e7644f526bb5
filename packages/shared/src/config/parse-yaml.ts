import { parseDocument } from "yaml";
import { ConfigError } from "./config-error.js";
import { expandEnv, type Env } from "./expand-env.js";
import { YamlObject } from "./yaml-object.js";

const DOCUMENT = "(document)";

/**
 * Expands `${VAR}` references, parses one YAML document (YAML 1.2 core schema, so `on`/`yes`
 * stay strings; duplicate keys are errors) and returns its top-level mapping. Empty text is an
 * empty mapping.
 */
export function parseYamlRoot(text: string, env: Env): YamlObject {
  const doc = parseDocument(expandEnv(text, env), { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new ConfigError(DOCUMENT, undefined, "a single YAML document with a mapping at the top", {
      problem: `YAML syntax error: ${oneLine(first.message)}`,
      cause: first,
    });
  }
  let value: unknown;
  try {
    // The alias limit stops "billion laughs" documents from exhausting memory.
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    throw new ConfigError(DOCUMENT, undefined, "a YAML document without excessive aliases", {
      problem: `YAML error: ${oneLine(cause instanceof Error ? cause.message : String(cause))}`,
      cause,
    });
  }
  return YamlObject.from(value, "");
}

/** The first line of a message (the yaml library adds a source excerpt below it). */
function oneLine(message: string): string {
  return message.split("\n")[0].trim().replace(/:$/, "");
}
