// The selectors of a plan (--kind, --arch, --target: comma lists parsed by cli/options.ts's
// parseKinds/parseArches/parseTargets) and their defaults.
import type { Arch, Kind } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";

/** Which kind × arch × target entries a plan covers. No kinds: every kind with a manifest. */
export interface Selection {
  kinds?: readonly Kind[] | undefined;
  arches: readonly Arch[];
  targets: readonly Target[];
}

export const DEFAULT_ARCHES: readonly Arch[] = ["amd64"];
export const DEFAULT_TARGETS: readonly Target[] = ["qemu"];
