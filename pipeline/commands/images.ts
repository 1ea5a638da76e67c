// `images merge`: one images.json (and its derived files) from the outputs of parallel build jobs.
import type { Command } from "commander";
import path from "node:path";
import { printJson, printLine } from "../cli/output.js";
import { mergeIntoDir } from "../publish/merge.js";

interface MergeFlags {
  out: string;
  json?: boolean;
  allowUntested?: boolean;
}

export function register(program: Command): Command {
  const images = program.command("images").description("Work with images.json files: merge the outputs of parallel build jobs");
  images
    .command("merge")
    .description("Merge images.json files from parallel jobs into DIR/images.json and regenerate the tfvars")
    .argument("<file...>", "images.json files to merge (DIR/images.json, when it exists, is merged too)")
    .requiredOption("--out <dir>", "directory of the merged images.json and images.auto.tfvars.json")
    .option("--allow-untested", "let images.auto.tfvars.json point at images that were not boot-tested (as build --allow-untested)")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      `
An image is its name and target. The same image in several inputs is merged when its artifact
(qcow2 digest, or the AMI ID of every region) is the same in each, keeping the record that says
most (boot-tested, tested last); with different artifacts it is a conflict: exit 1 naming both
files and the image, and nothing is written. The result is sorted by kind, arch, target, time
and name, so any order of inputs gives the same bytes. images.json and every file derived from
it are written atomically under the same lock as build's publish.

Exit codes: 0 merged, 1 a conflict (nothing written), 2 bad usage or an input that is not an
images.json of format version 1 (named with the file and the JSON path).`,
    )
    .action(async (files: string[], flags: MergeFlags) => {
      const dir = path.resolve(flags.out);
      const result = await mergeIntoDir(dir, files, { allowUntested: flags.allowUntested });
      if (flags.json) {
        printJson({ ok: true, imagesFile: result.imagesFile, tfvarsFile: result.derived.tfvarsFile, derivedFiles: [result.derived.tfvarsFile, ...result.derived.nstanceFiles], inputs: result.inputs, allowUntested: result.allowUntested, images: result.doc.images.map((i) => ({ name: i.name, target: i.target })) });
        return;
      }
      printLine(`merged ${result.inputs.length} files, ${result.images} images, into ${result.imagesFile}; regenerated ${[result.derived.tfvarsFile, ...result.derived.nstanceFiles].map((f) => path.basename(f)).join(", ")}`);
    });
  return images;
}
