// Interrupting make-disk.sh while /dev, /dev/pts, /proc and /sys are bound into the image root
// (the fake grub-install sleeps there): SIGTERM lets the script clean up itself; SIGKILL leaves
// the cleanup to safeRemove. Either way the host's /dev stays whole and nothing stays mounted,
// attached or on disk.
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAKE_DISK_SCRIPT } from "../../pipeline/base/recipe.js";
import { mountsUnder, safeRemove } from "../../pipeline/fs/safe-remove.js";
import { runLogged } from "../../pipeline/image/run-logged.js";
import { IS_ROOT, NEEDS_ROOT, expectClean, hostState, tinyRootTarball, mountTempDir } from "../fs/mount-fixtures.js";

/** Runs make-disk.sh on the tiny root and aborts it once grub-install runs (every mount is up). */
async function interruptAtGrubInstall(killSignal: NodeJS.Signals, processGroup = true): Promise<{ work: string; mountedAtAbort: string[]; error: unknown; secondsAfterAbort: number }> {
  const fixtures = await mountTempDir("make-disk-fixture-");
  const tarball = await tinyRootTarball(fixtures);
  const work = path.join(await mountTempDir("make-disk-work-"), "work");
  await mkdir(work);
  const controller = new AbortController();
  let mountedAtAbort: string[] = [];
  let abortedAt = 0;
  const error = await runLogged("bash", [MAKE_DISK_SCRIPT, tarball, path.join(work, "base.qcow2"), "16"], {
    logPath: path.join(fixtures, "log"),
    code: "EBASE",
    signal: controller.signal,
    processGroup,
    killSignal,
    forceKillAfterMs: 5_000,
    onLine: (line) => {
      if (line.includes("grub-install started")) {
        void mountsUnder(work).then((mounts) => {
          mountedAtAbort = mounts;
          abortedAt = performance.now();
          controller.abort();
        });
      }
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { work, mountedAtAbort, error, secondsAfterAbort: (performance.now() - abortedAt) / 1000 };
}

describe.skipIf(!IS_ROOT)(`make-disk.sh interrupted during grub-install (${NEEDS_ROOT})`, () => {
  it("SIGTERM: the script unmounts, detaches and removes its own work dir while grub-install still runs", async () => {
    const before = await hostState();
    const { work, mountedAtAbort, error, secondsAfterAbort } = await interruptAtGrubInstall("SIGTERM");
    expect(error).toMatchObject({ code: "ECANCELED" });
    // Every mounting step was up: the root, /dev, /dev/pts, /proc, /sys.
    expect(mountedAtAbort.map((m) => m.replace(/.*\/mnt/, "mnt")).sort()).toEqual(["mnt", "mnt/dev", "mnt/dev/pts", "mnt/proc", "mnt/sys"]);
    // Well before the SIGKILL escalation (5 s).
    expect(secondsAfterAbort).toBeLessThan(4);
    await expectClean(work, before, { removed: false });
    expect(await readdir(work)).toEqual([]);
    await safeRemove(work);
    await expectClean(work, before);
  });

  it("SIGTERM to the script alone (not its group): the TERM trap fires at once although grub-install is still running (it runs in the background, bash waits)", async () => {
    const before = await hostState();
    const { work, error, secondsAfterAbort } = await interruptAtGrubInstall("SIGTERM", false);
    expect(error).toMatchObject({ code: "ECANCELED" });
    expect(secondsAfterAbort).toBeLessThan(4);
    await expectClean(work, before, { removed: false });
    expect(await readdir(work)).toEqual([]);
    await safeRemove(work);
  });

  it("SIGKILL: nothing of the script runs, safeRemove releases the mounts and the loop device first", async () => {
    const before = await hostState();
    const { work, mountedAtAbort, error } = await interruptAtGrubInstall("SIGKILL");
    expect(error).toMatchObject({ code: "ECANCELED" });
    expect(mountedAtAbort.length).toBe(5);
    await safeRemove(work);
    await expectClean(work, before);
  });
});
