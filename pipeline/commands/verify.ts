// `verify`: re-check every cached artifact named by the manifests.
import type { Command } from "commander";
import { printJson, printLine } from "../cli/output.js";
import { AggregateWorkError, WorkError } from "../errors/index.js";
import { jobLabel } from "../fetch/index.js";
import { withInterrupts } from "../progress/index.js";
import { verifyCache } from "../verify/index.js";
import { addCacheOption, addSelectionOptions, selectManifests, type CacheFlags, type SelectionFlags } from "./fetch.js";

interface VerifyFlags extends SelectionFlags, Omit<CacheFlags, "mirror"> {
  baseImage?: boolean;
  json?: boolean;
}

export function register(program: Command): Command {
  const command = program
    .command("verify")
    .description("Re-check every cached artifact against the lock manifests (re-hash digest and size)")
    .addHelpText(
      "after",
      `
Each artifact of the selected manifests is reported as ok, CORRUPT (its cache entry holds other
bytes) or missing (not fetched yet). The cache is not changed: \`fetch\` evicts and replaces a
corrupt entry. Unpinned dependencies are skipped.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache (else ~/.cache/podplane-images)

Exit codes: 0 no corrupt entry (missing ones are listed, not failures), 1 a corrupt entry,
2 bad usage or bad input.`,
    );
  addSelectionOptions(command);
  addCacheOption(command);
  return command
    .option("--base-image", "also check each manifest's Debian base image (os.image)")
    .option("--json", "print one JSON report on stdout")
    .action(async (flags: VerifyFlags) => {
      const manifests = await selectManifests(flags);
      const report = await withInterrupts((signal) => verifyCache({ manifests, cacheDir: flags.cache, includeBaseImage: flags.baseImage, signal }));
      if (flags.json) {
        printJson({ ...report, cacheDir: flags.cache });
        if (!report.ok) process.exitCode = 1;
        return;
      }
      for (const a of report.artifacts) {
        const state = a.status === "ok" ? "ok" : a.status === "missing" ? "missing" : "CORRUPT";
        printLine(`${state.padEnd(8)}${jobLabel(a)}  ${a.digest}`);
      }
      printLine(`${report.counts.ok} ok, ${report.counts.corrupt} corrupt, ${report.counts.missing} missing in ${flags.cache}`);
      const bad = report.artifacts.filter((a) => a.status === "corrupt");
      if (bad.length > 0) {
        throw new AggregateWorkError(
          `${bad.length} corrupt cache entries`,
          bad.map((a) => new WorkError("EINTEGRITY", a.problem ?? a.name, { name: a.name, path: a.path, expected: a.digest, found: a.found })),
        );
      }
    });
}
