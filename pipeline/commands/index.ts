// Every subcommand is listed here with a one-line summary and a loader. The CLI imports only the
// module of the command that runs: `--help` and a warm `fetch` must not pay for Packer, QEMU,
// listr2 or handlebars being loaded for commands nobody asked for.
import type { Command } from "commander";

export interface CommandModule {
  register(program: Command): Command;
}

export interface CommandEntry {
  name: string;
  /** Identical to the command's own .description(): the root --help shows it without loading it. */
  summary: string;
  load(): Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "fetch",
    summary: "Download every artifact the selected kinds/arches need into the verified, content-addressed cache",
    load: () => import("./fetch.js"),
  },
  { name: "verify", summary: "Re-check every cached artifact against the lock manifests (re-hash digest and size)", load: () => import("./verify.js") },
  {
    name: "pin",
    summary: "Pin a dependency version: download it, cross-check upstream's checksum file, write digest and size into the manifests",
    load: () => import("./pin.js"),
  },
  {
    name: "bump",
    summary: "Find the newest upstream version of each dependency and image of the lock manifests; with --write, pin them",
    load: () => import("./bump.js"),
  },
  { name: "mirror", summary: "Write a mirror tree from the cache (export) or serve one over HTTP (serve)", load: () => import("./mirror.js") },
  { name: "vmconfig", summary: "Pack the vmconfig archive deterministically", load: () => import("./vmconfig.js") },
  { name: "user-data", summary: "Render Podplane's user-data for a baked image (Nstance's launch placeholders kept)", load: () => import("./user-data.js") },
  { name: "plan", summary: "Show what build would do for a selection: each image's name, input hash and build/skip status", load: () => import("./plan.js") },
  { name: "build", summary: "Bake an image per kind x arch x target with Packer and publish its ID", load: () => import("./build.js") },
  { name: "images", summary: "Work with images.json files: merge the outputs of parallel build jobs", load: () => import("./images.js") },
  {
    name: "prune",
    summary: "Delete old images (qcow2 files, AMIs and their snapshots) and their records, keeping the newest N per kind x arch x target",
    load: () => import("./prune.js"),
  },
  {
    name: "diff",
    summary: "Compare two manifest sets (directories or git refs) or two published images: components added, removed, version or digest changed, per kind x arch",
    load: () => import("./diff.js"),
  },
  { name: "inspect", summary: "List what a qcow2 image holds, without booting it", load: () => import("./inspect.js") },
  {
    name: "verify-image",
    summary: "Check an image's signed provenance: the signature, the image's digest, the dependencies against the lock manifests",
    load: () => import("./verify-image.js"),
  },
  { name: "test-image", summary: "Boot an image with the slim user-data and check it comes up configured", load: () => import("./test-image.js") },
];
