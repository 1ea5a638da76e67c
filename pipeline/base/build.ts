// Builds (or reuses) the Debian 13 base qcow2 from the archive: mmdebstrap a root tarball,
// lay it on a partitioned disk with GRUB, convert to qcow2. Cached by the recipe's input hash;
// written to a temp name and renamed into place, so a half-built base is never reused.
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { WorkError } from "../errors/index.js";
import { sweepStaleWork, withWorkDir } from "../fs/work-dir.js";
import { fileSha256 } from "../image/file-digest.js";
import { runLogged } from "../image/run-logged.js";
import type { Arch } from "../manifest/schema.js";
import { assertForeignBaseHost } from "./foreign.js";
import { BASE_SUITE, CUSTOMIZE_SCRIPT, MAKE_DISK_SCRIPT, baseImageName, baseInputHash, baseRecipe } from "./recipe.js";

export interface BuildBaseOptions {
  cacheDir: string;
  arch: Arch;
  signal?: AbortSignal | undefined;
  /** Debian archive URL for mmdebstrap; default $PODPLANE_DEBIAN_MIRROR or deb.debian.org. */
  debianMirror?: string | undefined;
  onLine?: ((line: string) => void) | undefined;
}

export interface BaseImage {
  path: string;
  digest: string;
  cacheHit: boolean;
  inputHash?: string;
  logPath?: string;
  seconds?: number;
}

interface BaseRecord {
  name: string;
  inputHash: string;
  digest: string;
  size: number;
  createdAt: string;
  seconds: number;
  rootfsSeconds?: number;
  diskSeconds?: number;
}

async function readRecord(file: string, image: string): Promise<BaseRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(file, "utf8")) as BaseRecord;
    const size = (await stat(image)).size;
    return record.size === size && /^sha256:[0-9a-f]{64}$/.test(record.digest) ? record : undefined;
  } catch {
    return undefined;
  }
}

export async function buildDebootstrapBase(options: BuildBaseOptions): Promise<BaseImage> {
  const { arch, signal } = options;
  const recipe = await baseRecipe(arch);
  const inputHash = baseInputHash(recipe);
  const dir = path.join(options.cacheDir, "base");
  const name = baseImageName(arch, inputHash);
  const image = path.join(dir, `${name}.qcow2`);
  const recordFile = `${image}.json`;
  const logPath = path.join(dir, `${name}.log`);

  const cached = await readRecord(recordFile, image);
  if (cached) return { path: image, digest: cached.digest, cacheHit: true, inputHash, logPath };

  if (process.getuid?.() !== 0) {
    throw new WorkError("EPERM", "building the debootstrap base needs root (mmdebstrap, loop devices, mount)", {});
  }
  // A foreign base (arm64 here) runs its maintainer scripts through qemu-user: checked again
  // here for callers that skipped the build's preflight.
  await assertForeignBaseHost(arch);
  await mkdir(dir, { recursive: true });
  await sweepStaleWork(dir);
  await rm(logPath, { force: true });
  const started = Date.now();
  return withWorkDir(dir, `.${name}.`, async (work) => {
    const tarball = path.join(work, "rootfs.tar");
    const qcow2 = path.join(work, "base.qcow2");
    const mirror = options.debianMirror ?? process.env.PODPLANE_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
    // Own process group (a cancel reaches every child, none outlives the step) and temp space
    // under the work dir (mmdebstrap's mounts, if a SIGKILL leaves any, are released by safeRemove).
    const run = { logPath, code: "EBASE", signal, onLine: options.onLine, processGroup: true, env: { ...process.env, TMPDIR: work } };
    await runLogged(
      "mmdebstrap",
      [
        "--variant=apt",
        `--architectures=${arch}`,
        `--include=${recipe.packages.join(",")}`,
        `--customize-hook=bash ${CUSTOMIZE_SCRIPT} "$1" ${arch}`,
        BASE_SUITE,
        tarball,
        mirror,
      ],
      run,
    );
    // The two halves timed apart: under qemu-user (a foreign base) mmdebstrap dominates.
    const rootfsSeconds = (Date.now() - started) / 1000;
    await runLogged("bash", [MAKE_DISK_SCRIPT, tarball, qcow2, String(recipe.diskMiB), recipe.firmware], run);
    await rm(tarball, { force: true });
    const digest = await fileSha256(qcow2);
    const size = (await stat(qcow2)).size;
    const seconds = (Date.now() - started) / 1000;
    const record: BaseRecord = { name, inputHash, digest, size, createdAt: new Date().toISOString(), seconds, rootfsSeconds, diskSeconds: seconds - rootfsSeconds };
    await writeFile(path.join(work, "record.json"), `${JSON.stringify({ ...record, recipe }, null, 2)}\n`);
    // The image first, its record last: a record is only ever beside a complete image.
    await rename(qcow2, image);
    await rename(path.join(work, "record.json"), recordFile);
    return { path: image, digest, cacheHit: false, inputHash, logPath, seconds };
  });
}
