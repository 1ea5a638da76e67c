// What the boot test expects of a configured VM, from vmconfig's own data files: which services a
// kind runs, when, as which user, with which variables and inputs (share/services.tsv), and where
// each delivered file goes, with which owner, mode and restarting services (share/deliveries.tsv).
// Nothing is hard-coded twice. services.tsv is read here (not through pipeline/vmconfig) because
// the boot test needs its user and inputs columns; the older 4-column layout is still read.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Kind } from "../manifest/schema.js";
import { DEFAULT_VMCONFIG_DIR, loadVariables, type VmconfigVariable } from "../vmconfig/index.js";

export interface ServiceSpec {
  name: string;
  kinds: string[];
  /** "always" or NAME=value */
  when: string;
  /** The unit's User= ("root" for root services). */
  user: string;
  variables: string[];
  /** Absolute VM paths whose content change restarts the service. */
  inputs: string[];
}

export interface DeliverySpec {
  /** The flat file name in recv/ (or keys/ for a generated key). */
  name: string;
  kinds: string[];
  from: "recv" | "keys";
  dest: string;
  mode: string;
  owner: string;
  group: string;
  /** The services that restart when it changes. */
  services: string[];
}

export type VariableSpec = VmconfigVariable;

export interface VmconfigSpec {
  services: ServiceSpec[];
  variables: VariableSpec[];
  deliveries: DeliverySpec[];
}

function rows(file: string): string[][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t"));
}

const list = (value: string | undefined): string[] => (value === undefined || value === "-" ? [] : value.split(",").filter(Boolean));

export function parseServicesTsv(file: string): ServiceSpec[] {
  return rows(file).map((row) => {
    if (row.length <= 4) {
      const [name = "", kinds = "", when = "", variables = ""] = row;
      return { name, kinds: list(kinds), when, user: "root", variables: list(variables), inputs: [] };
    }
    const [name = "", kinds = "", when = "", user = "", variables = "", inputs = ""] = row;
    return { name, kinds: list(kinds), when, user, variables: list(variables), inputs: list(inputs) };
  });
}

export function parseDeliveriesTsv(file: string): DeliverySpec[] {
  return rows(file).map(([name = "", kinds = "", from = "", dest = "", mode = "", owner = "", group = "", services = ""]) => ({
    name,
    kinds: list(kinds),
    from: from === "keys" ? "keys" : "recv",
    dest,
    mode: mode.padStart(4, "0"),
    owner,
    group,
    services: list(services),
  }));
}

export function loadVmconfigSpec(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigSpec {
  const share = path.join(vmconfigDir, "opt/podplane/share");
  const deliveries = path.join(share, "deliveries.tsv");
  return {
    services: parseServicesTsv(path.join(share, "services.tsv")),
    variables: loadVariables(vmconfigDir),
    deliveries: existsSync(deliveries) ? parseDeliveriesTsv(deliveries) : [],
  };
}

/** Values that must never be readable by anyone but the service's user. */
export function isSecretVariable(name: string): boolean {
  return /SECRET|NONCE|PASSWORD|TOKEN/.test(name);
}

/** Whether a service applies, given the merged environment (configure.sh's `applies`). */
export function serviceApplies(service: Pick<ServiceSpec, "when">, env: ReadonlyMap<string, string>): boolean {
  if (service.when === "always") return true;
  const at = service.when.indexOf("=");
  return (env.get(service.when.slice(0, at)) ?? "") === service.when.slice(at + 1);
}

export function allServiceNames(spec: VmconfigSpec): string[] {
  return spec.services.map((s) => s.name);
}

export function servicesOfKind(spec: VmconfigSpec, kind: Kind): ServiceSpec[] {
  return spec.services.filter((s) => s.kinds.includes(kind));
}

export function deliveriesOfKind(spec: VmconfigSpec, kind: Kind): DeliverySpec[] {
  return spec.deliveries.filter((d) => d.kinds.includes(kind));
}

/** Whether a variable comes from mutable.env (the seed's "settable"/"derived" or the contract's "mutable"). */
export function isMutableSource(source: string): boolean {
  return source === "mutable" || source === "settable" || source === "derived";
}
