// Which base an image starts from, as far as it is known without building anything: the
// official Debian AMI filter (aws), the manifest's genericcloud qcow2 (qemu, cloud), or the
// debootstrap base when the cache already holds it. Pure reads, so a plan can use it.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { baseImageName, baseInputHash, baseRecipe } from "../base/recipe.js";
import type { Manifest } from "../manifest/load.js";
import type { Arch } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";

export type BaseKind = "cloud" | "debootstrap";

export interface BaseChoice {
  source: string;
  digest: string;
  /** Local qcow2 (debootstrap); the cloud image comes from the fetch. */
  path?: string;
  cacheHit?: boolean;
}

/** A base whose digest is not known until it is built (the debootstrap base, not cached yet). */
export interface PendingBase {
  source: string;
  digest: null;
}

/** Debian's official AMI owner; the aws base is "the newest AMI matching the filter". */
export const DEBIAN_AMI_OWNER = "136693071363";

export function awsBase(m: Pick<Manifest, "os" | "arch">): BaseChoice {
  return { source: `ami:${DEBIAN_AMI_OWNER}/${m.os}-${m.arch}-*`, digest: `ami-filter:${DEBIAN_AMI_OWNER}/${m.os}-${m.arch}-*` };
}

export function cloudBase(m: Pick<Manifest, "baseImage">): BaseChoice {
  return { source: m.baseImage.url, digest: m.baseImage.digest };
}

/**
 * The debootstrap base in the cache, if it is there: the recipe hash, file name and record
 * (digest + size beside the qcow2) that buildDebootstrapBase writes and trusts.
 */
export async function cachedDebootstrapBase(cacheDir: string, arch: Arch): Promise<BaseChoice | PendingBase> {
  const name = baseImageName(arch, baseInputHash(await baseRecipe(arch)));
  const image = path.join(cacheDir, "base", `${name}.qcow2`);
  const source = `debootstrap:${name}.qcow2`;
  try {
    const record = JSON.parse(await readFile(`${image}.json`, "utf8")) as { digest?: unknown; size?: unknown };
    const size = (await stat(image)).size;
    if (record.size === size && typeof record.digest === "string" && /^sha256:[0-9a-f]{64}$/.test(record.digest)) {
      return { source, digest: record.digest, path: image, cacheHit: true };
    }
  } catch {
    // missing or unreadable: a build makes it
  }
  return { source, digest: null };
}

/** The base of one entry without building it; `digest: null` when it must be built first. */
export async function plannedBase(manifest: Manifest, target: Target, base: BaseKind, cacheDir: string): Promise<BaseChoice | PendingBase> {
  if (target === "aws") return awsBase(manifest);
  if (base === "cloud") return cloudBase(manifest);
  return cachedDebootstrapBase(cacheDir, manifest.arch);
}
