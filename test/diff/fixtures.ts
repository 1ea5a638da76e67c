// Manifest sets for the diff suites: copies of the repository's manifests/ in a temp dir, then
// edited in place the way a release changes them (a version bump, a re-pinned digest, a
// dependency added or dropped, a new container image tag).
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_MANIFESTS_DIR } from "../../pipeline/cli/options.js";
import type { LockFile } from "../../pipeline/manifest/schema.js";
import { runCli as runCliOnce, type CliResult } from "../helpers/cli.js";

export const KUBELET_NEW = `sha256:${"1".repeat(64)}`;
export const RUNC_NEW = `sha256:${"2".repeat(64)}`;
export const PAUSE_NEW = `sha256:${"3".repeat(64)}`;
export const PAUSE_KND_NEW = `sha256:${"6".repeat(64)}`;
export const EXTRA_DIGEST = `sha256:${"4".repeat(64)}`;

export async function copyManifests(dir: string): Promise<string> {
  await cp(DEFAULT_MANIFESTS_DIR, dir, { recursive: true });
  return dir;
}

export async function editManifest(dir: string, file: string, edit: (lock: LockFile) => void): Promise<void> {
  const full = path.join(dir, file);
  const lock = JSON.parse(await readFile(full, "utf8")) as LockFile;
  edit(lock);
  await writeFile(full, `${JSON.stringify(lock, null, 2)}\n`);
}

/**
 * The release the suites compare against the repository's manifests:
 * knd amd64: kubelet 1.36.1 → 1.36.2; runc 1.4.2 re-pinned (same version, new digest);
 *            a new dependency "extra-tool"; the base image re-pinned to a new cloud image;
 *            the pause image re-pinned under the same tag.
 * knc amd64: netsy dropped; the pause image moved to tag 3.10.3.
 * knd/knc arm64: unchanged.
 */
export async function editRelease(dir: string): Promise<void> {
  await editManifest(dir, "knd.debian-13.amd64.json", (lock) => {
    const deps = lock.vmconfig.dependencies;
    const kubelet = deps.kubelet;
    const runc = deps.runc;
    if (!kubelet || !runc) throw new Error("fixture: knd amd64 has no kubelet/runc");
    deps.kubelet = { ...kubelet, version: "1.36.2", url: kubelet.url.replace("v1.36.1", "v1.36.2"), digest: KUBELET_NEW };
    deps.runc = { ...runc, digest: RUNC_NEW };
    deps["extra-tool"] = { version: "0.1.0", url: "https://example.com/extra-tool/0.1.0/extra-tool-linux-amd64", type: "binary", digest: EXTRA_DIGEST, size: 10 };
    lock.vmconfig.os.image = { ...lock.vmconfig.os.image, version: "20260601-2500", digest: `sha512:${"5".repeat(128)}` };
    lock.vmconfig.images = lock.vmconfig.images.map((i) => ({ ...i, digest: PAUSE_KND_NEW }));
  });
  await editManifest(dir, "knc.debian-13.amd64.json", (lock) => {
    delete lock.vmconfig.dependencies.netsy;
    const [pause] = lock.vmconfig.images;
    if (!pause) throw new Error("fixture: knc amd64 has no image");
    lock.vmconfig.images = [{ ...pause, image: "registry.k8s.io/pause:3.10.3", digest: PAUSE_NEW }];
  });
}

/** The CLI in this process; several runs in one test each start without the exit code the last one set. */
export function runCli(...args: string[]): Promise<CliResult> {
  process.exitCode = undefined;
  return runCliOnce(...args);
}

/** The lines of the Markdown section headed `## title`, up to the next section. */
export function section(markdown: string, title: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`no section ${title} in:\n${markdown}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}
