// `verify`: re-check every cached artifact and container image named by the manifests.
import type { Command } from "commander";
import { printJson, printLine } from "../cli/output.js";
import { AggregateWorkError, WorkError } from "../errors/index.js";
import { jobLabel } from "../fetch/index.js";
import { withInterrupts } from "../progress/index.js";
import { imageLabel } from "../oci/index.js";
import { verifyCache, type VerifiedArtifact } from "../verify/index.js";
import { addCacheOption, addSelectionOptions, selectManifests, type CacheFlags, type SelectionFlags } from "./fetch.js";

interface VerifyFlags extends SelectionFlags, Omit<CacheFlags, "mirror"> {
  baseImage?: boolean;
  images?: boolean;
  json?: boolean;
}

function stateWord(status: VerifiedArtifact["status"]): string {
  return status === "ok" ? "ok" : status === "missing" ? "missing" : "CORRUPT";
}

export function register(program: Command): Command {
  const command = program
    .command("verify")
    .description("Re-check every cached artifact against the lock manifests (re-hash digest and size)")
    .addHelpText(
      "after",
      `
Each artifact of the selected manifests is reported as ok, CORRUPT (its cache entry holds other
bytes) or missing (not fetched yet). Each container image (vmconfig.images) likewise: its index,
platform manifest, config and layers re-hashed, and their sizes added up against the pin. The cache
is not changed: \`fetch\` evicts and replaces a corrupt entry. Unpinned dependencies are skipped.

Environment:
  PODPLANE_IMAGES_CACHE   default for --cache (else ~/.cache/podplane-images)

Exit codes: 0 no corrupt entry (missing ones are listed, not failures), 1 a corrupt entry,
2 bad usage or bad input.`,
    );
  addSelectionOptions(command);
  addCacheOption(command);
  return command
    .option("--base-image", "also check each manifest's Debian base image (os.image)")
    .option("--no-images", "skip the container images (vmconfig.images) of the manifests")
    .option("--json", "print one JSON report on stdout")
    .action(async (flags: VerifyFlags) => {
      const manifests = await selectManifests(flags);
      const report = await withInterrupts((signal) => verifyCache({ manifests, cacheDir: flags.cache, includeBaseImage: flags.baseImage, images: flags.images, signal }));
      if (flags.json) {
        printJson({ ...report, cacheDir: flags.cache });
        if (!report.ok) process.exitCode = 1;
        return;
      }
      for (const a of report.artifacts) {
        printLine(`${stateWord(a.status).padEnd(8)}${jobLabel(a)}  ${a.digest}`);
      }
      for (const i of report.images) {
        printLine(`${stateWord(i.status).padEnd(8)}${imageLabel(i)}  ${i.digest}${i.status === "ok" ? "" : `  (${i.problem ?? ""})`}`);
      }
      const imagePart = report.images.length > 0 ? `; images: ${report.imageCounts.ok} ok, ${report.imageCounts.corrupt} corrupt, ${report.imageCounts.missing} missing` : "";
      printLine(`${report.counts.ok} ok, ${report.counts.corrupt} corrupt, ${report.counts.missing} missing${imagePart} in ${flags.cache}`);
      const bad = [
        ...report.artifacts.filter((a) => a.status === "corrupt").map((a) => new WorkError("EINTEGRITY", a.problem ?? a.name, { name: a.name, path: a.path, expected: a.digest, found: a.found })),
        ...report.images.filter((i) => i.status === "corrupt").map((i) => new WorkError("EINTEGRITY", i.problem ?? i.image, { image: i.image, platform: i.platform, digest: i.digest })),
      ];
      if (bad.length > 0) throw new AggregateWorkError(`${bad.length} corrupt cache entries`, bad);
    });
}
