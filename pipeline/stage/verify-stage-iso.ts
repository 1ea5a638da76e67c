// The staged artifacts read back out of the finished stage ISO and checked against their pinned
// digests on the host, at native speed: the bytes the qemu build VM will read from its read-only
// stage disk are then the bytes that were checked, and install.sh need not hash them again inside
// the guest (under TCG that took ≈ 14 s of a warm knc bake for its 530 MB). The fetch checked the
// cache and the stage is made of hard links to it; this checks what was finally written.
import { createHash } from "node:crypto";
import { execa } from "execa";
import { eachLimit } from "../concurrency/each-limit.js";
import { WorkError } from "../errors/index.js";
import { parseDigest } from "../manifest/digest.js";
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
  const bad: string[] = [];
  await eachLimit(artifacts, concurrency, async (artifact) => {
    const parsed = parseDigest(artifact.digest);
    if (!parsed) throw new WorkError("ESTAGE", `${artifact.name}: not a sha256/sha512 digest: ${artifact.digest}`, { name: artifact.name });
    const found = await digestInIso(iso, artifact.relativePath, parsed.algorithm, signal);
    if (found !== artifact.digest) bad.push(`${artifact.name} (${artifact.relativePath}): expected ${artifact.digest}, found ${found}`);
  });
  if (bad.length > 0) {
    throw new WorkError("EINTEGRITY", `the stage disk ${iso} does not hold the pinned bytes: ${bad.join("; ")}`, { iso, mismatches: bad });
  }
}
