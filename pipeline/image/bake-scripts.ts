// What the qemu build VM runs its bake with: packer/scripts/build-vm.sh and the cleanup and
// validation it ends with, and bake.env (the kind and the image's cloud-init datasources), in one
// directory that joins the stage on the build VM's read-only disk (see build-vm-boot.ts).
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Kind } from "../manifest/schema.js";
import { PROVISIONER_SCRIPTS_DIR } from "../packer/template.js";
import { BAKE_DIR } from "./build-vm-boot.js";

export const BAKE_SCRIPTS = ["build-vm.sh", "cleanup-image.sh", "validate-image.sh"] as const;

/** bake.env: KEY=value lines, read (never sourced) by build-vm.sh, which accepts these two keys only. */
export function bakeEnv(kind: Kind, datasources: string): string {
  if (!/^[A-Za-z0-9]+(, ?[A-Za-z0-9]+)*$/.test(datasources)) throw new Error(`datasources: expected names like 'NoCloud, None', found '${datasources}'`);
  return `KIND=${kind}\nDATASOURCES=${datasources}\n`;
}

/** Writes `<parent>/podplane-bake/` and returns `parent`, the directory that joins the stage disk. */
export async function writeBakeScripts(parent: string, kind: Kind, datasources: string): Promise<string> {
  const dir = path.join(parent, BAKE_DIR);
  await rm(parent, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await Promise.all(BAKE_SCRIPTS.map((name) => copyFile(path.join(PROVISIONER_SCRIPTS_DIR, name), path.join(dir, name))));
  await writeFile(path.join(dir, "bake.env"), bakeEnv(kind, datasources));
  return parent;
}
