// What the boot test expects of a configured VM, read from vmconfig's own data files
// (scripts/vmconfig/opt/podplane/share/{services,variables}.tsv): which services a kind runs,
// when, and which variables each service's env file carries. Nothing here is hard-coded twice.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";
import type { Kind } from "../manifest/schema.js";

export const VMCONFIG_SHARE = path.join(PROJECT_ROOT, "scripts", "vmconfig", "opt", "podplane", "share");

export interface ServiceSpec {
  name: string;
  kinds: Kind[];
  /** "always", or NAME=value: enabled only while the merged environment has that value. */
  when: string;
  variables: string[];
}

export interface VariableSpec {
  name: string;
  source: "user-data" | "detected" | "settable" | "derived";
  type: string;
  required: boolean;
  defaultValue: string | undefined;
}

export interface VmconfigSpec {
  services: ServiceSpec[];
  variables: VariableSpec[];
}

/** Values that must never be readable by anyone but root. */
export function isSecretVariable(name: string): boolean {
  return /SECRET|NONCE_JWT|PASSWORD|TOKEN/.test(name);
}

function rows(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t"));
}

export function parseServicesTsv(text: string): ServiceSpec[] {
  return rows(text).map(([name = "", kinds = "", when = "", variables = ""]) => ({
    name,
    kinds: kinds.split(",").filter(Boolean) as Kind[],
    when,
    variables: variables.split(",").filter(Boolean),
  }));
}

export function parseVariablesTsv(text: string): VariableSpec[] {
  return rows(text).map(([name = "", source = "", type = "", required = "", defaultValue = "-"]) => ({
    name,
    source: source as VariableSpec["source"],
    type,
    required: required === "yes",
    defaultValue: defaultValue === "-" ? undefined : defaultValue,
  }));
}

export async function loadVmconfigSpec(shareDir = VMCONFIG_SHARE): Promise<VmconfigSpec> {
  const [services, variables] = await Promise.all([
    readFile(path.join(shareDir, "services.tsv"), "utf8"),
    readFile(path.join(shareDir, "variables.tsv"), "utf8"),
  ]);
  return { services: parseServicesTsv(services), variables: parseVariablesTsv(variables) };
}

/** Whether a service applies, given the merged environment (configure.sh's `applies`). */
export function serviceApplies(service: ServiceSpec, env: ReadonlyMap<string, string>): boolean {
  if (service.when === "always") return true;
  const at = service.when.indexOf("=");
  return (env.get(service.when.slice(0, at)) ?? "") === service.when.slice(at + 1);
}

/** Every service any kind can run (their units must be checked on every image). */
export function allServiceNames(spec: VmconfigSpec): string[] {
  return spec.services.map((s) => s.name);
}

export function servicesOfKind(spec: VmconfigSpec, kind: Kind): ServiceSpec[] {
  return spec.services.filter((s) => s.kinds.includes(kind));
}
