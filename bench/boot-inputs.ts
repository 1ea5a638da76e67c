// What both arms of the boot benchmark boot with, made as the boot test makes them
// (pipeline/boot): a user-data.env in Podplane's format for a local-provider VM, whose Nstance
// addresses are the guest ends of forwards to loopback listeners, a registration nonce, and one
// Nstance delivery (certificates from a throw-away CA, nstance-agent's keys, the Podplane CLI's
// mutable.env) sent after the first boot.
import path from "node:path";
import { generateDelivery, readDeliveryDir, type DeliveryFile } from "../pipeline/boot/delivery.js";
import { testMutableEnv, testUserDataEnv, TEST_CLUSTER_ID, TEST_INSTANCE_ID, type EnvPairs } from "../pipeline/boot/test-env.js";
import { serviceApplies, servicesOfKind, type VmconfigSpec } from "../pipeline/boot/vmconfig-spec.js";
import type { Kind } from "../pipeline/manifest/schema.js";

export interface BenchInputs {
  userDataEnv: EnvPairs;
  mutableEnv: EnvPairs;
  files: DeliveryFile[];
}

export async function prepareInputs(kind: Kind, dir: string): Promise<BenchInputs> {
  const mutableEnv = testMutableEnv(kind);
  const identity = { kind, instanceId: TEST_INSTANCE_ID, clusterId: TEST_CLUSTER_ID, ipv4: "10.0.2.15", apiHostname: "api.boot-test.invalid" };
  const generated = await generateDelivery({ dir: path.join(dir, "delivery"), caDir: path.join(dir, "ca"), identity, mutableEnv });
  return { userDataEnv: testUserDataEnv(kind, "local", generated.caPem, TEST_INSTANCE_ID), mutableEnv, files: await readDeliveryDir(generated.dir) };
}

/**
 * The services of `kind` that run once everything is applied: configure.sh's merge (variable
 * defaults < each layer in turn; an empty value keeps the default) and services.tsv's `when`.
 */
export function applyingServices(spec: VmconfigSpec, kind: Kind, layers: ReadonlyArray<ReadonlyArray<readonly [string, string]>>): string[] {
  const env = new Map<string, string>();
  for (const variable of spec.variables) if (variable.default !== undefined) env.set(variable.name, variable.default);
  for (const layer of layers) {
    for (const [name, value] of layer) if (value !== "" || !env.has(name)) env.set(name, value);
  }
  return servicesOfKind(spec, kind)
    .filter((s) => serviceApplies(s, env))
    .map((s) => s.name);
}
