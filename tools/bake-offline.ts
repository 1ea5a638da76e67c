// The main job on a machine with no internet (like the CI machines here): generate a mirror of
// stand-in artifacts (upstream file names and layouts, small bash daemons; see
// test/fixtures/standins) with lock manifests pinning them, then run the real
// `podplane-images build` from it with a Debian base built from the archive.
//
//   npm run bake:offline -- --kind knc [any other build flag]
//
// With internet access, run `podplane-images build` directly against manifests/ instead.
import path from "node:path";
import { execa } from "execa";
import { PROJECT_ROOT } from "../pipeline/cli/options.js";
import { ARCHES, KINDS, type Arch, type Kind } from "../pipeline/manifest/schema.js";
import { generateStandinMirror } from "../test/fixtures/standins/index.js";

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

async function main(args: string[]): Promise<number> {
  const kinds = (flagValue(args, "--kind") ?? "knc").split(",") as Kind[];
  const arches = (flagValue(args, "--arch") ?? "amd64").split(",") as Arch[];
  if (!kinds.every((k) => KINDS.includes(k)) || !arches.every((a) => ARCHES.includes(a))) {
    process.stderr.write(`bake-offline: --kind must be of ${KINDS.join(",")} and --arch of ${ARCHES.join(",")}\n`);
    return 2;
  }
  const dir = path.join(PROJECT_ROOT, ".standins");
  process.stderr.write(`bake-offline: stand-in mirror for ${kinds.join(",")} ${arches.join(",")} in ${dir}\n`);
  const fixture = await generateStandinMirror({ dir, kinds, arches });
  const defaults = ["--target", "qemu", "--base", "debootstrap", "--manifests", fixture.manifestsDir, "--mirror", fixture.mirrorDir];
  const given = new Set(args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]));
  const extra: string[] = [];
  for (let i = 0; i < defaults.length; i += 2) {
    const flag = defaults[i] ?? "";
    if (!given.has(flag)) extra.push(flag, defaults[i + 1] ?? "");
  }
  if (!given.has("--kind")) extra.push("--kind", kinds.join(","));
  if (!given.has("--arch")) extra.push("--arch", arches.join(","));
  const result = await execa("node", [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", ...args, ...extra], { stdio: "inherit", reject: false });
  return result.exitCode ?? 1;
}

process.exitCode = await main(process.argv.slice(2).filter((a) => a !== "--"));
