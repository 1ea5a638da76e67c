// What the boot test expects of a configured VM, from vmconfig's own data files
// (share/services.tsv, share/variables.tsv, read by pipeline/vmconfig): which services a kind
// runs, when, and which variables each service's env file carries. Nothing is hard-coded twice.
import type { Kind } from "../manifest/schema.js";
import { loadServices, loadVariables, type VmconfigService, type VmconfigVariable } from "../vmconfig/index.js";

export type ServiceSpec = VmconfigService;
export type VariableSpec = VmconfigVariable;

export interface VmconfigSpec {
  services: ServiceSpec[];
  variables: VariableSpec[];
}

export function loadVmconfigSpec(vmconfigDir?: string): VmconfigSpec {
  return { services: loadServices(vmconfigDir), variables: loadVariables(vmconfigDir) };
}

/** Values that must never be readable by anyone but root. */
export function isSecretVariable(name: string): boolean {
  return /SECRET|NONCE_JWT|PASSWORD|TOKEN/.test(name);
}

/** Whether a service applies, given the merged environment (configure.sh's `applies`). */
export function serviceApplies(service: ServiceSpec, env: ReadonlyMap<string, string>): boolean {
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
