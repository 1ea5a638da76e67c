// `diff`: what changed between two manifest sets (directories or git refs) or two published
// images, per kind × arch, as Markdown for a release page or PR body, or --json.
import path from "node:path";
import type { Command } from "commander";
import { parseArches, parseKinds, parseTargets } from "../cli/options.js";
import { printJson } from "../cli/output.js";
import { UsageError } from "../errors/index.js";
import { diffImages, diffManifestSets } from "../diff/run.js";
import { renderMarkdown } from "../diff/markdown.js";
import type { DiffReport } from "../diff/compare.js";
import { IMAGES_FILE } from "../publish/images-json.js";
import type { Arch, Kind } from "../manifest/schema.js";
import type { Target } from "../packer/vars.js";

interface DiffFlags {
  repo?: string;
  images?: string;
  out?: string;
  target?: Target[];
  kind?: Kind[];
  arch?: Arch[];
  json?: boolean;
  exitCode?: boolean;
}

/** The images.json of image mode, or undefined for manifest sets. */
function imagesFileOf(flags: DiffFlags): string | undefined {
  if (flags.images && flags.out) throw new UsageError("--images FILE and --out DIR both name an images.json; give one");
  if (flags.images) return path.resolve(flags.images);
  if (flags.out) return path.resolve(flags.out, IMAGES_FILE);
  return undefined;
}

function singleTarget(flags: DiffFlags): Target | undefined {
  const [target, ...rest] = flags.target ?? [];
  if (rest.length > 0) throw new UsageError(`--target: expected one target (qemu or aws), found ${flags.target?.join(",") ?? ""}`);
  return target;
}

export async function runDiff(from: string, to: string, flags: DiffFlags): Promise<DiffReport> {
  const imagesFile = imagesFileOf(flags);
  if (imagesFile) {
    if (flags.kind || flags.arch || flags.repo) throw new UsageError("--kind, --arch and --repo apply to manifest sets; two images are compared as a whole");
    return diffImages(imagesFile, from, to, singleTarget(flags));
  }
  if (flags.target) throw new UsageError("--target applies to images (--images FILE or --out DIR)");
  return diffManifestSets(from, to, { repo: flags.repo, selection: { kinds: flags.kind, arches: flags.arch } });
}

export function register(program: Command): Command {
  return program
    .command("diff")
    .description("Compare two manifest sets (directories or git refs) or two published images: components added, removed, version or digest changed, per kind x arch")
    .argument("<from>", "the old side: a manifests directory or a git ref (REF, REF:PATH); with --images/--out an image name")
    .argument("<to>", "the new side, the same way")
    .option("--repo <dir>", "the git repository refs are read from (default: the current directory)")
    .option("--images <file>", "compare two images of this images.json (FROM and TO are image names)")
    .option("--out <dir>", "compare two images of DIR/images.json (the directory build published into)")
    .option("--target <target>", "images: the target (qemu or aws) when a name is published for both", parseTargets)
    .option("--kind <kinds>", "manifest sets: only these kinds, comma-separated: knd,knc (default: all)", parseKinds)
    .option("--arch <arches>", "manifest sets: only these architectures, comma-separated: amd64,arm64 (default: all)", parseArches)
    .option("--exit-code", "exit 1 when there are differences (as git diff --exit-code)")
    .option("--json", "print the report as one JSON document on stdout")
    .addHelpText(
      "after",
      `
How FROM and TO are read (manifest sets):
  an existing directory               that directory of <kind>.<os>.<arch>.json lock manifests
  /abs, ./rel, ../rel, ~...           a directory, which must exist
  REF:PATH                            the tree PATH (from the repository's top) at git REF,
                                      e.g. v1.2.0:manifests, main~3:manifests
  REF                                 REF:manifests, e.g. v1.2.0, HEAD, origin/main
An existing directory always wins; write REF:manifests for a ref that is also a directory's
name. Git is read with git cat-file / ls-tree in --repo; nothing is checked out.

Compared per kind x os x arch: dependencies (added, removed, version changed, and digest changed
with the same version, called out for review), container images (vmconfig.images, matched by
repository: a new tag is a version change), the base image and vmconfig. Images (--images FILE
or --out DIR) are compared as two records of images.json: their dependencies, vmconfig digest
and base image, and the container images of the Podplane manifest beside a qcow2 when it is
there (aws records keep none: "not compared").

Output: Markdown with a one-line summary first, sections in kind, os, arch order, entries by
change then name; --json prints {from, to, changed, summary, groups[]} with full digests.

Exit codes: 0 compared (with or without differences); 1 differences found with --exit-code;
2 bad usage, an unknown image name, an unreadable git ref or a directory that holds no manifests
(named in the message).

Examples:
  podplane-images diff v1.2.0 HEAD                  # manifests/ at two git refs
  podplane-images diff main:manifests ./manifests   # a branch against the working tree
  podplane-images diff --out out podplane-knd-debian-13-amd64-1111 podplane-knd-debian-13-amd64-2222`,
    )
    .action(async (from: string, to: string, flags: DiffFlags) => {
      const report = await runDiff(from, to, flags);
      if (flags.json) printJson({ ok: true, ...report });
      else process.stdout.write(renderMarkdown(report));
      if (flags.exitCode && report.changed) process.exitCode = 1;
    });
}
