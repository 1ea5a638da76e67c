// `vmconfig pack`: the deterministic vmconfig.tar.gz (its digest feeds the image's input hash).
import type { Command } from "commander";
import { formatBytes, printJson, printLine } from "../cli/output.js";
import { packVmconfig } from "../vmconfig/index.js";

interface PackFlags {
  out: string;
  source?: string;
  json?: boolean;
}

export function register(program: Command): Command {
  const vmconfig = program.command("vmconfig").description("Pack the vmconfig archive deterministically");
  vmconfig
    .command("pack")
    .description("Write scripts/vmconfig as a byte-reproducible vmconfig.tar.gz")
    .requiredOption("--out <file>", "where to write the archive")
    .option("--source <dir>", "the vmconfig tree to pack (default: scripts/vmconfig of this checkout)")
    .option("--json", "print {path, digest, size} as JSON on stdout")
    .addHelpText(
      "after",
      `
Sorted entries, mtime 2000-01-01, uid/gid 0, mode 0755 for directories and *.sh and 0644
otherwise, a gzip header without a time stamp: packing the same tree twice gives the same bytes.

Exit codes: 0 written, 1 the tree could not be read or the file written, 2 bad usage.`,
    )
    .action(async (flags: PackFlags) => {
      const packed = await packVmconfig({ outFile: flags.out, sourceDir: flags.source });
      if (flags.json) printJson(packed);
      else printLine(`${packed.path}  ${packed.digest}  ${formatBytes(packed.size)}`);
    });
  return vmconfig;
}
