// The vmconfig data files (share/variables.tsv, share/services.tsv): the single list of
// variables and of service → variables that the Bash scripts read, read here for the user-data
// renderer and the mapping test.
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_VMCONFIG_DIR } from "./pack.js";

export type VariableSource = "user-data" | "detected" | "settable" | "derived";

export interface VmconfigVariable {
  name: string;
  source: VariableSource;
  type: string;
  required: boolean;
  default: string | undefined;
  /** The Nstance launch-time placeholder the slim user-data carries by default. */
  template: string | undefined;
}

export interface VmconfigService {
  name: string;
  kinds: string[];
  /** "always" or NAME=value */
  when: string;
  variables: string[];
}

function rows(file: string): string[][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t"));
}

const dash = (value: string | undefined): string | undefined => (value === undefined || value === "-" ? undefined : value);

export function loadVariables(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigVariable[] {
  return rows(path.join(vmconfigDir, "opt/podplane/share/variables.tsv")).map(([name = "", source = "", type = "", required = "", def, template]) => ({
    name,
    source: source as VariableSource,
    type,
    required: required === "yes",
    default: dash(def),
    template: dash(template),
  }));
}

export function loadServices(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigService[] {
  return rows(path.join(vmconfigDir, "opt/podplane/share/services.tsv")).map(([name = "", kinds = "", when = "", variables = ""]) => ({
    name,
    kinds: kinds.split(","),
    when,
    variables: variables.split(",").filter(Boolean),
  }));
}

export const isMutable = (v: VmconfigVariable): boolean => v.source === "settable" || v.source === "derived";
