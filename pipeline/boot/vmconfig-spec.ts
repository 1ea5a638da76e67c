// What the boot test expects of a configured VM, from vmconfig's own data files: which services a
// kind runs, when, as which user, with which variables and inputs (share/services.tsv), and where
// each delivered file goes, with which owner, mode and restarting services (share/deliveries.tsv).
// Nothing is hard-coded twice: the tables are parsed once, in pipeline/vmconfig/data.ts.
import type { Kind } from "../manifest/schema.js";
import {
  DEFAULT_VMCONFIG_DIR,
  loadDeliveries,
  loadServices,
  loadVariables,
  type VmconfigDelivery,
  type VmconfigService,
  type VmconfigVariable,
} from "../vmconfig/index.js";

export type ServiceSpec = VmconfigService;
export type DeliverySpec = VmconfigDelivery;
export type VariableSpec = VmconfigVariable;

export interface VmconfigSpec {
  services: ServiceSpec[];
  variables: VariableSpec[];
  deliveries: DeliverySpec[];
}

export function loadVmconfigSpec(vmconfigDir: string = DEFAULT_VMCONFIG_DIR): VmconfigSpec {
  return { services: loadServices(vmconfigDir), variables: loadVariables(vmconfigDir), deliveries: loadDeliveries(vmconfigDir) };
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
