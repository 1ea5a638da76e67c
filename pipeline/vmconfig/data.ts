// The vmconfig data files (share/variables.tsv, share/services.tsv): the single list of
// variables and of service → variables that the Bash scripts read, read here for the user-data
// renderer, the boot test and the mapping test.
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_VMCONFIG_DIR } from "./pack.js";

/**
 * user-data: written by the user-data into user-data.env; detected: bootstrap.sh's detected.env;
 * mutable: mutable.env (the Podplane CLI's 39 keys, then the seed's 6); internal: computed by
 * configure.sh, never read from a file.
 */
export const VARIABLE_SOURCES = ["user-data", "detected", "mutable", "internal"] as const;
export type VariableSource = (typeof VARIABLE_SOURCES)[number];

export interface VmconfigVariable {
  name: string;
  source: VariableSource;
  /** check_value's type in lib/common.sh (sshkeys and pem may span lines). */
  type: string;
  /** Must be non-empty after merging defaults < user-data < detected < mutable. */
  required: boolean;
  /** The value an empty or missing one stands for. */
  default: string | undefined;
  /** The Nstance launch-time placeholder the slim user-data carries by default. */
  template: string | undefined;
}

export interface VmconfigService {
  name: string;
  kinds: string[];
  /** "always" or NAME=value */
  when: string;
  /** The unit's User=; its env file is 0640 root:<user> (0600 root:root for root). */
  user: string;
  /** The names written to /opt/env/<service>.env, in order. */
  variables: string[];
  /** Absolute VM paths whose content change restarts the service. */
  inputs: string[];
}

export interface VmconfigDelivery {
  /** The flat file name in recv/ (or keys/ for a generated key). */
  name: string;
  kinds: string[];
  from: "recv" | "keys";
  /** Where it is installed ("-" rows, e.g. mutable.env, are applied rather than copied). */
  dest: string;
  mode: string;
  owner: string;
  group: string;
  /** The services that restart when it changes. */
  services: string[];
}

function rows(file: string, columns: number): string[][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => line !== "" && !line.startsWith("#"))
    .map(({ line, n }) => {
      const cells = line.split("\t");
      if (cells.length !== columns) throw new Error(`${file} line ${n}: expected ${columns} tab-separated columns, found ${cells.length}`);
      return cells;
    });
}

const dash = (value: string): string | undefined => (value === "-" ? undefined : value);
const list = (value: string): string[] => (value === "-" ? [] : value.split(",").filter(Boolean));
const isSource = (value: string): value is VariableSource => (VARIABLE_SOURCES as readonly string[]).includes(value);

export function loadVariables(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigVariable[] {
  const file = path.join(vmconfigDir, "opt/podplane/share/variables.tsv");
  return rows(file, 6).map(([name = "", source = "", type = "", required = "", def = "", template = ""]) => {
    if (!isSource(source)) throw new Error(`${file}: ${name}: unknown source '${source}' (expected ${VARIABLE_SOURCES.join(", ")})`);
    return { name, source, type, required: required === "yes", default: dash(def), template: dash(template) };
  });
}

export function loadServices(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigService[] {
  const file = path.join(vmconfigDir, "opt/podplane/share/services.tsv");
  return rows(file, 6).map(([name = "", kinds = "", when = "", user = "", variables = "", inputs = ""]) => ({
    name,
    kinds: kinds.split(","),
    when,
    user,
    variables: list(variables),
    inputs: list(inputs),
  }));
}

/** share/deliveries.tsv: Podplane's delivery allowlist with where each file goes. */
export function loadDeliveries(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigDelivery[] {
  const file = path.join(vmconfigDir, "opt/podplane/share/deliveries.tsv");
  return rows(file, 8).map(([name = "", kinds = "", from = "", dest = "", mode = "", owner = "", group = "", services = ""]) => {
    if (from !== "recv" && from !== "keys") throw new Error(`${file}: ${name}: unknown origin '${from}' (expected recv or keys)`);
    return { name, kinds: list(kinds), from, dest, mode: mode.padStart(4, "0"), owner, group, services: list(services) };
  });
}

export const isMutable = (v: VmconfigVariable): boolean => v.source === "mutable";

/** Values that may span lines in user-data.env (a list of SSH keys, a PEM CA). */
export const spansLines = (v: VmconfigVariable): boolean => v.type === "sshkeys" || v.type === "pem";
