// `inspect IMAGE`: what a qcow2 holds, without booting it.
import { access } from "node:fs/promises";
import path from "node:path";
import { Option, type Command } from "commander";
import { defaultCacheDir } from "../cli/options.js";
import { formatBytes, printJson, printLine } from "../cli/output.js";
import { UsageError } from "../errors/index.js";
import { inspectImage, type InspectReport } from "../inspect/index.js";
import { withInterrupts } from "../progress/index.js";
import { EXIT_CODES_HELP } from "./fetch.js";

function mark(ok: boolean): string {
  return ok ? "ok " : "!! ";
}

/** The text report, line by line. */
export function reportLines(report: InspectReport): string[] {
  const lines = [`${report.image}`, `  os: ${report.os}; kernel: ${report.kernels.join(", ") || "none"}`];
  if (!report.installed) {
    lines.push("  !! no /opt/podplane/share/installed.json: not a baked Podplane image");
  } else {
    const images = report.installed.images ?? [];
    lines.push(`  kind: ${report.installed.kind}; ${report.artifacts.length} artifacts, ${report.units.length} units, ${images.length} container images`);
    for (const a of report.artifacts) {
      const pkg = a.package !== undefined ? ` (dpkg: ${a.package ?? "not installed"})` : "";
      lines.push(`  ${mark(a.files.every((f) => f.present) && a.package !== null)}${a.name} ${a.version}${pkg}`);
      for (const f of a.files) lines.push(`       ${f.present ? "" : "MISSING "}${f.path}${f.present ? ` ${formatBytes(f.size)}${f.executable ? " x" : ""}` : ""}`);
    }
    for (const u of report.units) {
      const state = u.enabled ? `enabled (${u.wantedBy.join(", ")})` : u.expectEnabled ? "NOT enabled" : `enabled at run time when ${u.condition ?? "needed"}`;
      lines.push(`  ${mark(u.present && (u.enabled || !u.expectEnabled))}${u.name}: ${u.present ? "present" : "MISSING"}, ${state}`);
    }
    // What the bake imported into containerd (namespace k8s.io), as install.sh recorded it.
    for (const i of images) lines.push(`  image ${i.image} ${i.platform}: index ${i.index}, manifest ${i.digest}`);
  }
  lines.push(`  hygiene: ${report.hygiene.ok ? "clean" : `${report.hygiene.findings.length} finding(s)`}`);
  for (const f of report.hygiene.findings) lines.push(`  !! ${f}`);
  return lines;
}

export function printReport(report: InspectReport): void {
  for (const line of reportLines(report)) printLine(line);
}

export function register(program: Command): Command {
  return program
    .command("inspect")
    .description("List what a qcow2 image holds, without booting it")
    .argument("<image>", "a qcow2 (or raw) image file")
    .option("--json", "print one JSON document on stdout")
    .option("--work-dir <dir>", "where the raw copy and the mount point go (default: <cache>/tmp)")
    .addOption(new Option("--cache <dir>", "cache directory whose tmp/ holds the work (env PODPLANE_IMAGES_CACHE)").default(defaultCacheDir()))
    .addHelpText(
      "after",
      `
Opens the image read-only (qemu-img convert to raw, losetup -r, partx -a, mount -o ro; needs
root) and lists /opt/podplane/share/installed.json, every file it names (present, size,
executable), the Debian packages, each unit (present, enabled) and hygiene findings (the
rules of packer/scripts/validate-image.sh). Exit 1 when anything is missing or not clean.
The raw copy (as large as the disk) and the mount point live in one directory under
--work-dir or <cache>/tmp; Ctrl-C, SIGTERM and SIGHUP unmount, detach and remove it, and a
directory left by a killed run is released by the next inspect.
${EXIT_CODES_HELP}`,
    )
    .action(async (image: string, flags: { json?: boolean; workDir?: string; cache: string }) => {
      const file = path.resolve(image);
      await access(file).catch(() => {
        throw new UsageError(`${image}: no such image file`, "ENOENT");
      });
      const workParent = path.resolve(flags.workDir ?? path.join(flags.cache, "tmp"));
      const report = await withInterrupts((signal) => inspectImage(file, { workParent, signal }));
      if (flags.json) printJson(report);
      else printReport(report);
      if (!report.ok) process.exitCode = 1;
    });
}
