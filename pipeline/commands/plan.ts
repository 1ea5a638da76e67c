// `plan`: what `build` would do with a selection, without doing any of it: each kind × arch ×
// target with its image name, input hash and status (build or skip), as a table, JSON, or the
// include list of a GitHub Actions matrix.
import path from "node:path";
import { Option, type Command } from "commander";
import { DEFAULT_MANIFESTS_DIR, parseArches, parseKinds, parseTargets } from "../cli/options.js";
import { printJson, printLine } from "../cli/output.js";
import type { BaseKind } from "../image/base-choice.js";
import type { Arch, Kind } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";
import { githubMatrix, planJson, planTable } from "../plan/format.js";
import { computePlan } from "../plan/plan.js";
import { DEFAULT_ARCHES, DEFAULT_TARGETS } from "../plan/selectors.js";
import { EXIT_CODES_HELP, addCacheOption } from "./fetch.js";

export const PLAN_FORMATS = ["text", "json", "github"] as const;

export interface PlanFlags {
  kind?: Kind[];
  arch: Arch[];
  target: Target[];
  base: BaseKind;
  manifests: string;
  cache: string;
  out: string;
  format: (typeof PLAN_FORMATS)[number];
  changedOnly?: boolean;
  force?: boolean;
  skipTest?: boolean;
}

export function register(program: Command): Command {
  const command = program
    .command("plan")
    .description("Show what build would do for a selection: each image's name, input hash and build/skip status")
    .option("--kind <kinds>", "VM kinds, comma-separated: knd,knc (default: every kind with a manifest)", parseKinds)
    .option("--arch <arches>", "architectures, comma-separated: amd64,arm64", parseArches, [...DEFAULT_ARCHES])
    .option("--target <targets>", "targets, comma-separated: qemu,aws", parseTargets, [...DEFAULT_TARGETS])
    .addOption(new Option("--base <base>", "qemu base, as for build").choices(["cloud", "debootstrap"]).default("cloud"))
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR)
    .option("--out <dir>", "build's output directory: its images.json decides build or skip", "out")
    .addOption(new Option("--format <format>", "text table, JSON document, or one line for a GitHub Actions matrix").choices([...PLAN_FORMATS]).default("text"))
    .option("--changed-only", "leave out the images images.json already has (status skip)")
    .option("--force", "plan as build --force would (every image builds)")
    .option("--skip-test", "plan as build --skip-test would (an image not boot-tested yet is a skip)")
    .addHelpText(
      "after",
      `
Nothing is built, fetched or written: the input hashes come from the lock manifests, the
vmconfig tree (packed in memory), the Packer template and the base image digest. With
--base debootstrap and no base in --cache yet, the name and hash are null until a build
makes the base (status build).

--format github prints one line, the value of a workflow's strategy.matrix:
  {"include":[{"kind":"knd","arch":"amd64","target":"qemu","name":"podplane-knd-…","hash":"…","status":"build"}, …]}
used as  matrix: \${{ fromJSON(needs.plan.outputs.matrix) }}. "build" covers an image that is
built but still needs its boot test (baked with --skip-test). With --changed-only and nothing
to do, the include list is empty (GitHub refuses an empty matrix: guard the job with an if).
${EXIT_CODES_HELP}`,
    );
  addCacheOption(command);
  return command.action(async (raw: PlanFlags) => {
    const flags = { ...raw, out: path.resolve(raw.out), manifests: path.resolve(raw.manifests) };
    const plan = await computePlan(
      { kinds: flags.kind, arches: flags.arch, targets: flags.target },
      { manifests: flags.manifests, out: flags.out, cache: flags.cache, base: flags.base, force: flags.force, skipTest: flags.skipTest },
    );
    const changedOnly = Boolean(flags.changedOnly);
    if (flags.format === "github") printLine(JSON.stringify(githubMatrix(plan, changedOnly)));
    else if (flags.format === "json") printJson(planJson(plan, changedOnly));
    else for (const line of planTable(plan, changedOnly)) printLine(line);
  });
}
