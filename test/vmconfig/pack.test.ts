// vmconfig pack: byte-reproducible whatever the checkout's mtimes and modes; fixed headers.
import { execFileSync } from "node:child_process";
import { cp, chmod, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { buildVmconfigArchive, packVmconfig, VMCONFIG_MTIME } from "../../pipeline/vmconfig/index.js";
import { tempDir, VMCONFIG_TREE } from "./helpers.js";

/** Every file and directory under dir, deepest last. */
function walk(dir: string): string[] {
  return execFileSync("find", [dir], { encoding: "utf8" }).trim().split("\n");
}

describe("packVmconfig", () => {
  it("packs the same tree to the same bytes twice", async () => {
    const dir = await tempDir("pp-pack-");
    const a = await packVmconfig({ outFile: path.join(dir, "a.tar.gz") });
    const b = await packVmconfig({ outFile: path.join(dir, "b.tar.gz") });
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(a.size).toBe((await readFile(a.path)).length);
    expect(Buffer.compare(await readFile(a.path), await readFile(b.path))).toBe(0);
  });

  it("ignores mtimes and modes of the checkout; a content change changes the digest", async () => {
    const dir = await tempDir("pp-pack-");
    const copy = path.join(dir, "tree");
    await cp(VMCONFIG_TREE, copy, { recursive: true });
    let n = 0;
    for (const p of walk(copy)) {
      n++;
      await utimes(p, 1_000_000 + n * 7919, 1_500_000_000 + n * 104_729);
      if (p.endsWith(".tsv")) await chmod(p, 0o600);
      if (p.endsWith("common.sh")) await chmod(p, 0o700);
    }
    const original = await buildVmconfigArchive(VMCONFIG_TREE);
    expect(Buffer.compare(await buildVmconfigArchive(copy), original)).toBe(0);
    await writeFile(path.join(copy, "opt/podplane/share/services.tsv"), "# changed\n", { flag: "a" });
    expect(Buffer.compare(await buildVmconfigArchive(copy), original)).not.toBe(0);
  });

  it("writes fixed headers: root/root, one mtime, 0755 for directories and scripts, 0644 otherwise, sorted", async () => {
    const dir = await tempDir("pp-pack-");
    const packed = await packVmconfig({ outFile: path.join(dir, "v.tar.gz") });
    const gz = await readFile(packed.path);
    expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    expect(gz.readUInt32LE(4)).toBe(0); // no gzip mtime
    expect(gz[9]).toBe(3);
    const listing = execFileSync("tar", ["--numeric-owner", "--full-time", "-tvzf", packed.path], { encoding: "utf8", env: { TZ: "UTC", PATH: process.env.PATH } })
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/));
    const names = listing.map((f) => f[5] ?? "");
    expect(names).toEqual([...names].sort());
    expect(names).toContain("opt/podplane/bin/install.sh");
    expect(names).toContain("etc/systemd/system/nstance-recv-watch.path");
    for (const [mode = "", owner = "", , date = "", time = "", name = ""] of listing) {
      expect(owner, name).toBe("0/0");
      expect(`${date} ${time}`).toBe(new Date(VMCONFIG_MTIME * 1000).toISOString().replace("T", " ").slice(0, 19));
      const expected = name.endsWith("/") ? "drwxr-xr-x" : name.endsWith(".sh") ? "-rwxr-xr-x" : "-rw-r--r--";
      expect(mode, name).toBe(expected);
    }
    // owner names in the headers are fixed too, and the stream ends on whole 512-byte blocks
    const names2 = execFileSync("tar", ["-tvzf", packed.path], { encoding: "utf8" }).trim().split("\n").map((line) => line.split(/\s+/)[1]);
    expect(new Set(names2)).toEqual(new Set(["root/root"]));
    expect(gunzipSync(gz).length % 512).toBe(0);
  });

  it("extracts with GNU tar to the tree the provisioner expects", async () => {
    const dir = await tempDir("pp-pack-");
    const packed = await packVmconfig({ outFile: path.join(dir, "v.tar.gz") });
    const out = path.join(dir, "x");
    execFileSync("mkdir", ["-p", out]);
    execFileSync("tar", ["-xzf", packed.path, "-C", out]);
    const original = await readFile(path.join(VMCONFIG_TREE, "opt/podplane/bin/configure.sh"));
    expect(Buffer.compare(await readFile(path.join(out, "opt/podplane/bin/configure.sh")), original)).toBe(0);
  });

  it("refuses a tree with a symlink or without install.sh", async () => {
    const dir = await tempDir("pp-pack-");
    const copy = path.join(dir, "tree");
    await cp(VMCONFIG_TREE, copy, { recursive: true });
    await symlink("/etc/passwd", path.join(copy, "opt/podplane/share/link"));
    await expect(buildVmconfigArchive(copy)).rejects.toThrow(/only regular files and directories/);
    await expect(buildVmconfigArchive(path.join(copy, "etc"))).rejects.toBeInstanceOf(WorkError);
  });
});
