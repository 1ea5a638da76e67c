import { access, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { PROVIDERS, testImage, type ImageTestReport, type Provider } from "../boot/index.js";
import { defaultCacheDir, parseKind } from "../cli/options.js";
import { printError, printJson, printLine } from "../cli/output.js";
import { UsageError } from "../errors/index.js";
import type { Arch, Kind } from "../manifest/schema.js";
import { readUserDataEnvFile } from "../boot/test-env.js";
import { findBootRecord, prepareDirectBoot } from "../boot/direct-boot.js";

interface TestImageFlags {
  kind: Kind;
  arch: Arch;
  provider: Provider;
  userDataEnv?: string;
  delivery?: string;
  format: "script" | "cloud-config";
  json?: boolean;
  keep?: boolean;
  workDir?: string;
  cache: string;
  directKernelBoot?: boolean;
  bootRecord?: string;
}

async function logTail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** One line per check; on failure the failing checks, the serial log tail and the log path. */
export async function printReport(report: ImageTestReport, json: boolean): Promise<void> {
  if (json) printJson(report);
  else {
    for (const check of report.checks) printLine(`${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.evidence}`);
    printLine(`${report.ok ? "passed" : "FAILED"}: ${report.image} (${report.kind}) in ${report.seconds.toFixed(0)} s; serial log ${report.logPath}`);
  }
  if (!report.ok) {
    for (const check of report.checks.filter((c) => !c.ok)) printError(`failing check ${check.name}: ${check.evidence}`);
    printError(`serial log tail (${report.logPath}):\n${await logTail(report.logPath)}`);
    printError(`log: ${report.logPath}`);
  }
}

export function register(program: Command): Command {
  return program
    .command("test-image")
    .description("Boot an image with the slim user-data and check it comes up configured")
    .argument("<image>", "the qcow2 image to boot (never modified: the VM runs on a throw-away overlay)")
    .requiredOption("--kind <kind>", "knd or knc", parseKind)
    .addOption(new Option("--arch <arch>", "the image's architecture (arm64 boots under qemu-system-aarch64, UEFI)").choices(["amd64", "arm64"]).default("amd64"))
    .addOption(new Option("--provider <provider>", "PROVIDER_KIND of the generated user-data.env (kube2iam runs only with aws)").choices([...PROVIDERS]).default("local"))
    .option("--user-data-env <file>", "boot with this user-data.env (Podplane's format: NAME='value', multi-line values allowed) instead of a generated one")
    .option("--delivery <dir>", "deliver DIR/recv/* and DIR/keys/* (as under /opt/nstance-agent/) instead of one generated with a throw-away CA")
    .addOption(new Option("--format <format>", "user-data format").choices(["script", "cloud-config"]).default("script"))
    .option("--work-dir <dir>", "where the overlay, seed, serial log and report go (default: a new temp dir)")
    .addOption(new Option("--cache <dir>", "cache directory: the accelerator verdict, the boot-speed record, tmp/ for a direct boot's extraction (env PODPLANE_IMAGES_CACHE)").default(defaultCacheDir()).argParser((dir) => path.resolve(dir)))
    .option("--keep", "keep the overlay and seed after the test")
    .option("--json", "print the report as one JSON document")
    .option("--direct-kernel-boot", "boot with -kernel/-initrd/-append from the image's os.boot record (files extracted from the image and checked by digest first; needs root)")
    .option("--boot-record <file>", "with --direct-kernel-boot: the images.json or Podplane manifest holding the record (default: images.json beside the image's images/ directory)")
    .addHelpText(
      "after",
      `
--direct-kernel-boot boots the way Podplane's local runner does: the kernel and initrd named by
the image's os.boot record are copied out of the image (opened read-only as \`inspect\` does) and
checked against the record's digests; a record the image no longer matches is an error naming
the file and both digests (exit 1) and nothing boots. The record comes from the build's
images.json (the record whose qemu.path is the image) or from the Podplane manifest written
beside the qcow2 (<name>.manifest/<kind>.<os>.<arch>.json), whose os.image digest must be the
image's.`,
    )
    .action(async (image: string, flags: TestImageFlags, command: Command) => {
      const file = path.resolve(image);
      await access(file).catch(() => {
        throw new UsageError(`${image}: no such image`, "ENOIMAGE");
      });
      if (flags.userDataEnv && command.getOptionValueSource("provider") === "cli") throw new UsageError("--provider and --user-data-env exclude each other: the file's PROVIDER_KIND decides", "EUSAGE");
      if (flags.delivery) {
        await access(path.join(flags.delivery, "recv")).catch(() => {
          throw new UsageError(`--delivery ${flags.delivery}: no recv/ directory`, "EBADDELIVERY");
        });
      }
      if (flags.bootRecord && !flags.directKernelBoot) throw new UsageError("--boot-record needs --direct-kernel-boot", "EUSAGE");
      // Bad input is a usage error before anything boots.
      if (flags.userDataEnv) await readUserDataEnvFile(path.resolve(flags.userDataEnv));
      const record = flags.directKernelBoot ? await findBootRecord(file, flags.bootRecord ? path.resolve(flags.bootRecord) : undefined, flags.arch) : undefined;
      const workDir = flags.workDir ? path.resolve(flags.workDir) : record ? await mkdtemp(path.join(os.tmpdir(), "podplane-test-image-")) : undefined;
      let directBoot: Awaited<ReturnType<typeof prepareDirectBoot>> | undefined;
      const bootDir = workDir ? path.join(workDir, "boot") : "";
      if (record && workDir) {
        printError(`test-image: direct kernel boot from ${record.from}: extracting ${record.boot.kernel.path} and ${record.boot.initrd.path} (partition ${record.boot.kernel.partition})`);
        await mkdir(workDir, { recursive: true });
        directBoot = await prepareDirectBoot(file, record.boot, bootDir, { workParent: path.join(flags.cache, "tmp") });
      }
      let report: ImageTestReport;
      try {
        report = await testImage({
          image: file,
          kind: flags.kind,
          arch: flags.arch,
          provider: flags.provider,
          userDataEnvFile: flags.userDataEnv ? path.resolve(flags.userDataEnv) : undefined,
          deliveryDir: flags.delivery ? path.resolve(flags.delivery) : undefined,
          format: flags.format,
          workDir,
          cacheDir: flags.cache,
          keep: flags.keep,
          directBoot,
          onProgress: (line) => printError(`test-image: ${line}`),
        });
      } finally {
        // The extracted kernel and initrd (tens of MiB) go with the overlay unless kept.
        if (directBoot && !flags.keep) await rm(bootDir, { recursive: true, force: true });
      }
      await printReport(report, Boolean(flags.json));
      if (!report.ok) process.exitCode = 1;
    });
}
