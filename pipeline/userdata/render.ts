// The slim user-data: only writes /opt/podplane/etc/user-data.env (0600) and runs configure.sh.
// Names come from vmconfig's variables.tsv (user-data and mutable variables); every value is
// single-quoted for the shell ('\'' for a quote), which is also the form configure.sh parses.
import Handlebars from "handlebars";
import { UsageError } from "../errors/index.js";
import type { Kind } from "../manifest/schema.js";
import { isMutable, loadVariables, type VmconfigVariable } from "../vmconfig/index.js";
import { CLOUD_CONFIG_TEMPLATE, SCRIPT_TEMPLATE } from "./templates.js";

export type UserDataFormat = "script" | "cloud-config";
export const USER_DATA_FORMATS: readonly UserDataFormat[] = ["script", "cloud-config"];

const HEREDOC_DELIMITER = "PODPLANE_USER_DATA_EOF";
const compile = (source: string) => Handlebars.compile<{ kind: Kind; lines: string[]; delimiter: string }>(source, { noEscape: true, strict: true });
const TEMPLATES: Record<UserDataFormat, ReturnType<typeof compile>> = {
  script: compile(SCRIPT_TEMPLATE),
  "cloud-config": compile(CLOUD_CONFIG_TEMPLATE),
};

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The variables user-data may carry: immutable user-data ones and the 36 mutable ones. */
export function userDataVariables(variables: readonly VmconfigVariable[] = loadVariables()): VmconfigVariable[] {
  return variables.filter((v) => v.source === "user-data" || isMutable(v));
}

/** Checks names and values; throws a UsageError naming the first problem. */
export function validateUserDataEnv(env: ReadonlyArray<readonly [string, string]>, allowed: readonly VmconfigVariable[]): void {
  const known = new Set(allowed.map((v) => v.name));
  const seen = new Set<string>();
  for (const [name, value] of env) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new UsageError(`invalid variable name ${JSON.stringify(name)}: expected upper-case letters, digits and _`, "EBADENV");
    if (!known.has(name)) throw new UsageError(`unknown variable ${name}: user-data takes ${[...known].join(", ")}`, "EBADENV");
    if (seen.has(name)) throw new UsageError(`${name} is given twice`, "EBADENV");
    seen.add(name);
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${name}: the value contains a control character (newline, carriage return, NUL, tab, ...)`, "EBADENV");
    if (Buffer.byteLength(value) > 4096) throw new UsageError(`${name}: the value is longer than 4096 bytes`, "EBADENV");
  }
}

/**
 * `placeholders` (default true): variables the env does not set keep their Nstance launch-time
 * placeholder (variables.tsv `template`); false leaves them out (a launch without Nstance).
 */
export function renderUserData(options: { kind: Kind; format: UserDataFormat; env: ReadonlyArray<readonly [string, string]>; placeholders?: boolean }): string {
  const variables = userDataVariables();
  validateUserDataEnv(options.env, variables);
  const given = new Map(options.env);
  const kindGiven = given.get("PODPLANE_KIND");
  if (kindGiven !== undefined && kindGiven !== options.kind) {
    throw new UsageError(`PODPLANE_KIND=${kindGiven} contradicts --kind ${options.kind}`, "EBADENV");
  }
  given.set("PODPLANE_KIND", options.kind);
  const lines: string[] = [];
  for (const v of variables) {
    const value = given.get(v.name) ?? (options.placeholders === false ? undefined : v.template);
    if (value !== undefined) lines.push(`${v.name}=${shellQuote(value)}`);
  }
  const template = TEMPLATES[options.format];
  return template({ kind: options.kind, lines, delimiter: HEREDOC_DELIMITER });
}
