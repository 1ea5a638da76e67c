// Shared parsing of the flags several commands take. Bad values are usage errors (exit 2).
import os from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { ARCHES, KINDS, type Arch, type Kind } from "../manifest/schema.js";
import { TARGETS, type Target } from "../packer/vars.js";

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = value.split(",").map((item) => item.trim()).filter(Boolean);
    const bad = items.filter((item) => !allowed.includes(item as T));
    if (bad.length > 0) throw new InvalidArgumentError(`unknown ${what} ${bad.map((b) => JSON.stringify(b)).join(", ")}; expected a comma-separated list of ${allowed.join(", ")}`);
    if (items.length === 0) throw new InvalidArgumentError(`empty ${what} list ${JSON.stringify(value)}; expected a comma-separated list of ${allowed.join(", ")}`);
    return [...new Set(items as T[])];
  };
}

export const parseKinds = listOf<Kind>(KINDS, "kind");
export const parseArches = listOf<Arch>(ARCHES, "arch");
export const parseTargets = listOf<Target>(TARGETS, "target");

export function parseKind(value: string): Kind {
  const [kind, ...rest] = parseKinds(value);
  if (!kind || rest.length > 0) throw new InvalidArgumentError(`expected exactly one kind (${KINDS.join(" or ")}), found ${JSON.stringify(value)}`);
  return kind;
}

export function parseArch(value: string): Arch {
  const [arch, ...rest] = parseArches(value);
  if (!arch || rest.length > 0) throw new InvalidArgumentError(`expected exactly one arch (${ARCHES.join(" or ")}), found ${JSON.stringify(value)}`);
  return arch;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, found ${JSON.stringify(value)}`);
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, found ${JSON.stringify(value)}`);
  return n;
}

/** The project root: where manifests/, packer/ and scripts/ live (two levels above dist/cli or pipeline/cli). */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");

export const DEFAULT_MANIFESTS_DIR = path.join(PROJECT_ROOT, "manifests");

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PODPLANE_IMAGES_CACHE) return path.resolve(env.PODPLANE_IMAGES_CACHE);
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
  return path.join(base, "podplane-images");
}

export function defaultMirror(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PODPLANE_IMAGES_MIRROR || undefined;
}
