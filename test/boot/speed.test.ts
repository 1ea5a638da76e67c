// Boot-test timeouts scale with the measured emulation speed of an arch, not a guess.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { BOOT_SPEED_FILE, FOREIGN_TCG_PRIOR, bootTimeScale, recordBootSpeed, scaleSsh, scaled } from "../../pipeline/boot/speed.js";
import type { SshClient } from "../../pipeline/boot/ssh.js";

async function cache(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "boot-speed-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("bootTimeScale", () => {
  it("a native guest or KVM: ×1, whatever was measured", async () => {
    const dir = await cache();
    await recordBootSpeed("amd64", "tcg", 400, dir);
    expect((await bootTimeScale("amd64", "tcg", dir, "amd64")).factor).toBe(1);
    expect((await bootTimeScale("arm64", "kvm", dir, "amd64")).factor).toBe(1);
  });

  it("a foreign guest not measured yet gets the stated prior", async () => {
    const scale = await bootTimeScale("arm64", "tcg", await cache(), "amd64");
    expect(scale).toEqual({ factor: FOREIGN_TCG_PRIOR, reason: expect.stringContaining("not measured yet") as string });
  });

  it("measured: the ratio of the arch's median boot-to-ssh to the host arch's", async () => {
    const dir = await cache();
    for (const s of [40, 44, 38]) await recordBootSpeed("amd64", "tcg", s, dir);
    for (const s of [150, 120, 900]) await recordBootSpeed("arm64", "tcg", s, dir);
    const scale = await bootTimeScale("arm64", "tcg", dir, "amd64");
    expect(scale.factor).toBeCloseTo(150 / 40, 2);
    expect(scale.reason).toMatch(/median 150 s vs amd64 40 s \(measured\)/);
  });

  it("without a host measurement the 40 s reference; the factor stays within 1..20", async () => {
    const dir = await cache();
    await recordBootSpeed("arm64", "tcg", 20, dir);
    expect((await bootTimeScale("arm64", "tcg", dir, "amd64")).factor).toBe(1);
    for (let i = 0; i < 5; i += 1) await recordBootSpeed("arm64", "tcg", 4000, dir);
    expect((await bootTimeScale("arm64", "tcg", dir, "amd64")).factor).toBe(20);
  });

  it("keeps the last five samples and ignores nonsense", async () => {
    const dir = await cache();
    for (const s of [1, 2, 3, 4, 5, 6, Number.NaN, -1, 0]) await recordBootSpeed("arm64", "tcg", s, dir);
    const doc = JSON.parse(await readFile(path.join(dir, BOOT_SPEED_FILE), "utf8")) as Record<string, { sshSeconds: number[] }>;
    expect(doc["arm64/tcg"]?.sshSeconds).toEqual([2, 3, 4, 5, 6]);
  });

  it("an unreadable file counts as no measurement", async () => {
    const dir = await cache();
    await import("node:fs/promises").then((fs) => fs.writeFile(path.join(dir, BOOT_SPEED_FILE), "{not json"));
    expect((await bootTimeScale("arm64", "tcg", dir, "amd64")).factor).toBe(FOREIGN_TCG_PRIOR);
  });
});

describe("scaleSsh", () => {
  it("multiplies every host-side timeout; ×1 is the client itself", async () => {
    const seen: Array<number | undefined> = [];
    const inner: SshClient = { run: (_c, o = {}) => (seen.push(o.timeoutMs), Promise.resolve({ exitCode: 0, stdout: "", stderr: "" })) };
    const scale = { factor: 3.5, reason: "test" };
    await scaleSsh(inner, scale).run("true", { timeoutMs: 30_000 });
    await scaleSsh(inner, scale).run("true");
    expect(seen).toEqual([105_000, undefined]);
    expect(scaleSsh(inner, { factor: 1, reason: "" })).toBe(inner);
    expect(scaled(1000, scale)).toBe(3500);
  });
});
