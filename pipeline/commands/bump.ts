// `bump [NAME...]`: what is newer upstream for the lock manifests' dependencies and images,
// and with --write, pin it through `pin`'s own verification.
import type { Command } from "commander";
import { DEFAULT_MANIFESTS_DIR, parseArches, parseKinds } from "../cli/options.js";
import { printError, printJson, printLine } from "../cli/output.js";
import { UsageError } from "../errors/index.js";
import { redactDeep } from "../fetch/index.js";
import type { Arch, Kind } from "../manifest/index.js";
import { withInterrupts } from "../progress/index.js";
import { addCacheOption, addMirrorOption, addRegistryMirrorOption, type CacheFlags, type RegistryMirrorFlags } from "./fetch.js";

interface BumpFlags extends CacheFlags, RegistryMirrorFlags {
  kind?: Kind[];
  arch?: Arch[];
  manifests: string;
  minor?: boolean;
  write?: boolean;
  check?: boolean;
  checksumsFrom?: string;
  trustMirror?: boolean;
  json?: boolean;
}

export function register(program: Command): Command {
  const command = program
    .command("bump")
    .argument("[names...]", "dependencies (kubelet, containerd, …; kubernetes = every Kubernetes binary) or images (registry.k8s.io/pause or pause); default: all")
    .description("Find the newest upstream version of each dependency and image of the lock manifests; with --write, pin them")
    .addHelpText(
      "after",
      `
Sources: Kubernetes binaries from dl.k8s.io's stable-1.NN.txt of the pinned minor (--minor:
stable.txt); GitHub-released ones (containerd, runc, cni-plugins, crictl, zot, netsy,
nstance-agent, kube2iam) from the releases API (drafts and prereleases skipped, the highest
version whose tag has the catalog's shape, e.g. v1.4.2 or 0.11.2 for kube2iam); the .debs
from their suite's Packages index (Debian trixie main; Fluent's trixie repository), newest by
dpkg's version ordering; container images from the registry's tags list (the highest release
tag of the pinned tag's shape).

With --mirror, every listing is read from the mirror at <mirror>/<host>/<path> of its URL
(query dropped): <mirror>/api.github.com/repos/OWNER/REPO/releases,
<mirror>/dl.k8s.io/release/stable-1.NN.txt, <mirror>/deb.debian.org/debian/dists/trixie/main/
binary-ARCH/Packages.gz, <mirror>/<registry>/v2/<repository>/tags/list. With
--registry-mirror REGISTRY=URL, the tags list of an image of REGISTRY is read from the registry
at URL (URL/v2/<repository>/tags/list) instead, and --write pins it from there (as pin image).

A source that cannot be read makes its rows "unknown" with the reason; the others are still
reported. --write pins every newer version with pin (the same downloads, checksum files and
signature checks; --checksums-from and --trust-mirror as for pin), all or nothing: if one pin
fails, no manifest is changed.

Environment:
  GITHUB_TOKEN   sent to api.github.com (never to a mirror) against the API's rate limit

Exit codes: 0 the lookup ran (newer versions or not), 1 every source failed, a --write pin
failed, or with --check something is out of date, 2 bad usage or an unknown name.`,
    )
    .option("--kind <kinds>", "only these kinds' manifests (default: all)", parseKinds)
    .option("--arch <arches>", "only these arches (default: all)", parseArches)
    .option("--manifests <dir>", "directory of lock manifests", DEFAULT_MANIFESTS_DIR)
    .option("--minor", "Kubernetes: also newer minor releases (stable.txt), not only patches of the pinned minor")
    .option("--check", "exit 1 when anything is out of date (for CI)")
    .option("--write", "pin every newer version into the manifests through pin's verification")
    .option("--checksums-from <url|dir>", "with --write and --mirror: where upstream's checksum files are read (as for pin)")
    .option("--trust-mirror", "with --write and --mirror: accept digests only the mirror vouches for (as for pin)");
  addMirrorOption(command);
  addRegistryMirrorOption(command);
  addCacheOption(command);
  return command.option("--json", "print one JSON document on stdout").action(async (names: string[], flags: BumpFlags) => {
    if (flags.write && flags.check) throw new UsageError("--write and --check exclude each other: --check reports, --write pins", "EUSAGE");
    if (!flags.write && (flags.checksumsFrom || flags.trustMirror)) throw new UsageError("--checksums-from and --trust-mirror only apply with --write", "EUSAGE");
    const { findBumps, formatBumpTable, writeBumps } = await import("../bump/index.js");
    const report = await withInterrupts((signal) =>
      findBumps({
        names,
        manifestsDir: flags.manifests,
        kinds: flags.kind,
        arches: flags.arch,
        anyMinor: flags.minor,
        mirror: flags.mirror,
        registryMirrors: flags.registryMirror,
        githubToken: process.env.GITHUB_TOKEN || undefined,
        signal,
      }),
    );
    if (!flags.json) for (const line of formatBumpTable(report)) printLine(line);
    const written =
      flags.write && !report.allFailed
        ? await withInterrupts((signal) =>
            writeBumps(report.rows, {
              manifestsDir: flags.manifests,
              cacheDir: flags.cache,
              mirror: flags.mirror,
              registryMirrors: flags.registryMirror,
              checksumsFrom: flags.checksumsFrom,
              trustMirror: flags.trustMirror,
              signal,
              onProgress: printError,
            }),
          )
        : undefined;
    const outOfDate = report.counts.newer > 0 && flags.check === true;
    const failed = report.allFailed || outOfDate;
    if (flags.json) {
      printJson(redactDeep({ ok: !failed, counts: report.counts, dependencies: report.rows, ...(written ? { written } : {}) }));
    } else if (written) {
      for (const f of written.files) printLine(`updated ${f.file}: ${f.changed.join(", ")}`);
      if (written.files.length === 0) printLine("nothing to write: every dependency is up to date");
    }
    if (report.allFailed) printError("EUPSTREAM: no upstream source could be read (see the reasons above)");
    else if (outOfDate) printError(`out of date: ${report.rows.filter((r) => r.status === "newer").map((r) => `${r.name} ${r.current} → ${r.newest ?? "?"}`).join(", ")}`);
    if (failed) process.exitCode = 1;
  });
}
