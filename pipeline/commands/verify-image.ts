// `verify-image IMAGE --key PUB`: checks an image's signed provenance: the signature, the subject
// against the image as it is now, the dependencies against the lock manifests.
import path from "node:path";
import type { Command } from "commander";
import { DEFAULT_MANIFESTS_DIR } from "../cli/options.js";
import { printError, printJson, printLine } from "../cli/output.js";
import { verifyImage, type VerifyReport } from "../provenance/verify.js";

const MARK = { ok: "ok", failed: "!!", skipped: "--" } as const;

/** The text report, line by line: one line per check, one more per mismatched dependency. */
export function verifyLines(report: VerifyReport): string[] {
  const signing = report.signed ? `signed (keyid ${report.keyids.join(", ") || "none given"})` : "unsigned";
  const lines = [`${report.image}${report.target ? ` (${report.target})` : ""}: ${report.statementPath}, ${signing}`];
  for (const c of report.checks) {
    lines.push(`  ${MARK[c.status]} ${c.name}: ${c.detail}`);
    for (const m of c.mismatches ?? []) {
      if (m.statement === null) lines.push(`     ${m.role} ${m.name}: missing from the statement (manifests: ${m.manifests ?? ""})`);
      else if (m.manifests === null) lines.push(`     ${m.role} ${m.name}: in the statement (${m.statement}), not in the manifests`);
      else lines.push(`     ${m.role} ${m.name}: statement ${m.statement}, manifests ${m.manifests}`);
    }
  }
  lines.push(report.ok ? "provenance verified" : `provenance NOT verified: ${report.checks.filter((c) => c.status === "failed").map((c) => c.name).join(", ")} did not match`);
  return lines;
}

export function register(program: Command): Command {
  return program
    .command("verify-image")
    .description("Check an image's signed provenance: the signature, the image's digest, the dependencies against the lock manifests")
    .argument("<image>", "an image name from images.json in --out, or a qcow2 path")
    .option("--key <file>", "PEM public key (Ed25519 or ECDSA P-256) the statement must be signed with; without it the signature is not checked")
    .option("--manifests <dir>", "directory of lock manifests the dependencies must match", DEFAULT_MANIFESTS_DIR)
    .option("--out <dir>", "the directory of images.json (build's --out)", "out")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      `
Reads the image's provenance statement (<name>.intoto.jsonl beside the qcow2, or in <out>/images/
for aws: a DSSE envelope holding an in-toto Statement v1 with a SLSA Provenance v1 predicate) and
checks:
  signature     a signature over the DSSE pre-authentication encoding verifies with --key
  subject       qemu: the qcow2 re-hashed equals the statement's sha256; aws: the sha256 of the
                AMI document of the images.json record (docs/release-engineering.md)
  dependencies  every pinned artifact and container image of the lock manifest of the image's
                kind/os/arch (and the base image of a cloud-based qemu image) is in the
                statement's resolvedDependencies with an equal digest, and nothing else is

Exit codes: 0 every check passed, 1 a check failed (each named, digests shown), 2 bad usage or
input: an unknown image, an unreadable or unsupported key, a statement that is unsigned when
--key is given, no manifest for the image.`,
    )
    .action(async (image: string, flags: { key?: string; manifests: string; out: string; json?: boolean }) => {
      const report = await verifyImage({ image, out: path.resolve(flags.out), manifests: path.resolve(flags.manifests), keyFile: flags.key });
      if (flags.json) printJson(report);
      else for (const line of verifyLines(report)) printLine(line);
      if (!report.ok) {
        if (!flags.json) printError(`verify-image: ${report.image}: ${report.checks.filter((c) => c.status === "failed").map((c) => `${c.name} did not match`).join("; ")}`);
        process.exitCode = 1;
      }
    });
}
