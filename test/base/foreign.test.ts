// The foreign-architecture base preflight: each missing piece of qemu-user/binfmt is named with
// what to install, as a usage error (exit 2) before any work.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assertForeignBaseHost, foreignBaseProblems } from "../../pipeline/base/index.js";
import { UsageError, exitCodeFor } from "../../pipeline/errors/index.js";

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function binfmt(entry?: string, { mounted = true } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "binfmt-"));
  dirs.push(dir);
  if (mounted) await writeFile(path.join(dir, "status"), "enabled\n");
  if (entry !== undefined) await writeFile(path.join(dir, "qemu-aarch64"), entry);
  return dir;
}

async function interpreter(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "qemu-user-"));
  dirs.push(dir);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, "qemu-aarch64-static");
  await writeFile(file, "");
  return file;
}

function entry(interp: string, { enabled = true, flags = "PF" } = {}): string {
  return `${enabled ? "enabled" : "disabled"}\ninterpreter ${interp}\nflags: ${flags}\noffset 0\nmagic 7f454c46\n`;
}

describe("foreignBaseProblems", () => {
  it("a native base needs nothing", async () => {
    expect(await foreignBaseProblems("amd64", { host: "amd64", binfmtDir: "/nonexistent" })).toEqual([]);
    expect(await foreignBaseProblems("arm64", { host: "arm64", binfmtDir: "/nonexistent" })).toEqual([]);
  });

  it("arm64 on amd64 with qemu-user-static's enabled entry is ready", async () => {
    const dir = await binfmt(entry(await interpreter()));
    expect(await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: dir })).toEqual([]);
  });

  it("names the mount when binfmt_misc is not mounted", async () => {
    const dir = await binfmt(undefined, { mounted: false });
    const problems = await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: dir });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/binfmt_misc is not mounted.*mount -t binfmt_misc/);
  });

  it("names qemu-user-static and binfmt-support when there is no qemu-aarch64 entry", async () => {
    const problems = await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: await binfmt() });
    expect(problems.join("\n")).toMatch(/no binfmt_misc entry qemu-aarch64: install qemu-user-static and binfmt-support/);
  });

  it("a disabled entry, a missing interpreter and a missing F flag are each named", async () => {
    const disabled = await binfmt(entry(await interpreter(), { enabled: false }));
    expect((await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: disabled })).join("\n")).toMatch(/disabled: run `update-binfmts --enable qemu-aarch64`/);
    const gone = await binfmt(entry("/nonexistent/qemu-aarch64-static"));
    expect((await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: gone })).join("\n")).toMatch(/points at \/nonexistent\/qemu-aarch64-static, which is missing: install qemu-user-static/);
    const dynamic = await binfmt(entry(await interpreter(), { flags: "P" }));
    expect((await foreignBaseProblems("arm64", { host: "amd64", binfmtDir: dynamic })).join("\n")).toMatch(/lacks the F flag.*install qemu-user-static/);
  });

  it("assertForeignBaseHost is a usage error (exit 2) naming the package", async () => {
    const error = await assertForeignBaseHost("arm64", { host: "amd64", binfmtDir: await binfmt() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as Error).message).toMatch(/cannot build the arm64 debootstrap base here: .*qemu-user-static/);
  });
});
