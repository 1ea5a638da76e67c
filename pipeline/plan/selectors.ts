// The selectors of a plan (--kind, --arch, --target): comma lists checked against what the
// pipeline knows. An unknown value is bad usage (exit 2) and the message names it.
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

export const parseKindList = listOf<Kind>(KINDS, "kind");
export const parseArchList = listOf<Arch>(ARCHES, "arch");
export const parseTargetList = listOf<Target>(TARGETS, "target");

/** Which kind × arch × target entries a plan covers. No kinds: every kind with a manifest. */
export interface Selection {
  kinds?: readonly Kind[] | undefined;
  arches: readonly Arch[];
  targets: readonly Target[];
}

export const DEFAULT_ARCHES: readonly Arch[] = ["amd64"];
export const DEFAULT_TARGETS: readonly Target[] = ["qemu"];
