// The staged artifacts read back out of the finished stage ISO and checked against their pinned
// digests on the host, at native speed: the bytes the qemu build VM will read from its read-only
// stage disk are then the bytes that were checked, and install.sh need not hash them again inside
// the guest (under TCG that took ≈ 14 s of a warm knc bake for its 530 MB). The fetch checked the
// cache and the stage is made of hard links to it; this checks what was finally written.
import { createHash } from "node:crypto";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import type { StagedArtifact } from "./write-stage.js";

/** The digest of one file inside the ISO (`isoinfo -x` with its Rock Ridge path), as `<alg>:<hex>`. */
async function digestInIso(iso: string, relativePath: string, algorithm: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash(algorithm);
  const child = execa("isoinfo", ["-i", iso, "-R", "-x", `/${relativePath}`], { stdin: "ignore", buffer: { stdout: false }, reject: false, cancelSignal: signal });
  child.stdout.on("data", (chunk: Buffer) => hash.update(chunk));
  const result = await child;
  if (result.failed) throw new WorkError("ESTAGEISO", `isoinfo could not read ${relativePath} from ${iso}: ${String(result.stderr || result.shortMessage)}`, { iso, path: relativePath });
  return `${algorithm}:${hash.digest("hex")}`;
}

/** Throws EINTEGRITY naming every artifact whose bytes in the ISO do not match its pin. */
export async function verifyStageIso(iso: string, artifacts: readonly StagedArtifact[], signal?: AbortSignal, concurrency = 4): Promise<void> {
  const queue = [...artifacts];
  const bad: string[] = [];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const algorithm = next.digest.split(":")[0] ?? "";
      if (algorithm !== "sha256" && algorithm !== "sha512") throw new WorkError("ESTAGE", `${next.name}: not a sha256/sha512 digest: ${next.digest}`, { name: next.name });
      const found = await digestInIso(iso, next.relativePath, algorithm, signal);
      if (found !== next.digest) bad.push(`${next.name} (${next.relativePath}): expected ${next.digest}, found ${found}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, artifacts.length) }, worker));
  if (bad.length > 0) {
    throw new WorkError("EINTEGRITY", `the stage disk ${iso} does not hold the pinned bytes: ${bad.join("; ")}`, { iso, mismatches: bad });
  }
}
