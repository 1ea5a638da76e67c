// The boot-method benchmark's pure parts: the arm order, the base's phases from a serial log and
// cloud-init events, the ratios and the tables, and the check that the plain base is the one the
// baked image was made from. The benchmark itself boots VMs and is run by hand (BENCHMARKS.md).
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { checkBase, recordedBase } from "../../bench/boot-method-base.js";
import { serialMarks } from "../../bench/boot-phases.js";
import { armOrder, basePhases, type BakedFigures, type MethodRun } from "../../bench/boot-method-phases.js";
import { formatRatio, loadLine, methodRatios, methodMarkdown, phaseTable, placeholderRow, summaryRow, SUMMARY_HEADER, type MethodSetup } from "../../bench/boot-method-report.js";

const baked = (toUserData: number, userDataToActive: number, kernelAt = 1): BakedFigures => ({ kernelAt, toUserData, userDataToActive, whole: toUserData + userDataToActive, serialMarks: [] });

function methodRun(run: number, cloudInitDone: number, grub: BakedFigures, direct: BakedFigures): MethodRun {
  return { run, base: { kernelAt: 2, toUserData: cloudInitDone - 1, toCloudInitDone: cloudInitDone, serialMarks: [] }, grub, direct };
}

describe("arm order", () => {
  it("rotates by one every run, so no arm always goes first", () => {
    expect(armOrder(1)).toEqual(["base", "grub", "direct"]);
    expect(armOrder(2)).toEqual(["grub", "direct", "base"]);
    expect(armOrder(3)).toEqual(["direct", "base", "grub"]);
    expect(armOrder(4)).toEqual(armOrder(1));
  });

  it("refuses a run number below 1", () => {
    expect(() => armOrder(0)).toThrow(/starts at 1/);
  });
});

describe("the plain base's phases", () => {
  // The kernel's monotonic 0 is at host 3.0 s: "[ 1.000000]" seen at 4.0 s (the smallest difference wins).
  const serial = [
    { seconds: 0.2, text: "SeaBIOS (version 1.16)" },
    { seconds: 4.0, text: "[    1.000000] Linux version 6.12" },
    { seconds: 9.5, text: "[    6.000000] systemd[1]: started" },
  ];

  it("ties cloud-init's events to the host clock through the printk stamps", () => {
    const phases = basePhases(serial, { events: { userScriptStart: 40, cloudInitDone: 41.5 } });
    expect(phases.kernelAt).toBeCloseTo(3.0);
    expect(phases.toUserData).toBeCloseTo(43.0);
    expect(phases.toCloudInitDone).toBeCloseTo(44.5);
    expect(phases.serialMarks.find((m) => m.phase === "kernel")?.seconds).toBe(4.0);
  });

  it("is an error, never a time, when an event is missing or out of order", () => {
    expect(() => basePhases(serial, { events: { userScriptStart: 40 } })).toThrow(/no cloudInitDone event/);
    expect(() => basePhases(serial, { events: { cloudInitDone: 40 } })).toThrow(/no userScriptStart event/);
    expect(() => basePhases(serial, { events: { userScriptStart: 40, cloudInitDone: 30 } })).toThrow(/before the user script started/);
    expect(() => basePhases([{ seconds: 1, text: "no stamp" }], { events: { userScriptStart: 1, cloudInitDone: 2 } })).toThrow(/printk/);
  });
});

describe("serial marks of a direct kernel boot", () => {
  it("shows no firmware or GRUB mark when the kernel speaks first, even with grub-common.service later", () => {
    const direct = [
      { seconds: 1.6, text: "[    0.000000] Linux version 6.12" },
      { seconds: 145.5, text: "         Starting grub-common.service - Record successful boot for GRUB..." },
    ];
    expect(serialMarks(direct).map((m) => m.phase)).toEqual(["kernel"]);
    const grub = [{ seconds: 1.1, text: "  Booting `Debian GNU/Linux'" }, ...direct.map((l) => ({ ...l, seconds: l.seconds + 10 }))];
    expect(serialMarks(grub).find((m) => m.phase === "bootloader (GRUB)")?.seconds).toBe(1.1);
  });
});

describe("ratios", () => {
  it("divides each baked arm's VM start → all active by the base's VM start → cloud-init done, and direct by GRUB", () => {
    const r = methodRatios([methodRun(1, 50, baked(80, 70), baked(70, 50))]);
    expect(r.grubOverBase.ratioOfMedians).toBeCloseTo(3.0);
    expect(r.directOverBase.ratioOfMedians).toBeCloseTo(2.4);
    expect(r.directOverGrub.ratioOfMedians).toBeCloseTo(0.8);
    expect(formatRatio(r.grubOverBase)).toBe("3.00× (one run)");
  });

  it("pairs run i with run i and gives both summaries with several runs", () => {
    const runs = [methodRun(1, 50, baked(50, 50), baked(40, 40)), methodRun(2, 40, baked(60, 60), baked(50, 50)), methodRun(3, 100, baked(100, 100), baked(50, 50))];
    const r = methodRatios(runs);
    // medians: grub whole 120, base 50 → 2.4; per-run 2, 3, 2 → 2
    expect(r.grubOverBase.ratioOfMedians).toBeCloseTo(2.4);
    expect(r.grubOverBase.medianOfRatios).toBeCloseTo(2);
    expect(formatRatio(r.grubOverBase)).toBe("2.40× (per-run median 2.00×)");
  });

  it("refuses no runs", () => {
    expect(() => methodRatios([])).toThrow(/no complete run/);
  });
});

describe("tables", () => {
  const cells = (row: string): number => row.split("|").length;

  it("gives the summary row and the placeholder row as many cells as the header", () => {
    const row = summaryRow("amd64", "knd", [methodRun(1, 50, baked(80, 70), baked(70, 50))]);
    expect(cells(row)).toBe(cells(SUMMARY_HEADER[0] ?? ""));
    expect(row).toBe("| amd64, knd (one run) | 50.0 | 80.0 | 70.0 | 150.0 | 70.0 | 50.0 | 120.0 | 3.00× (one run) | 2.40× (one run) | 0.80× (one run) |");
    const placeholder = placeholderRow("arm64, knd", "not yet measured: needs an arm64 bake");
    expect(cells(placeholder)).toBe(cells(SUMMARY_HEADER[0] ?? ""));
    expect(placeholder).toContain("**not yet measured: needs an arm64 bake**");
  });

  it("shows medians and every run's value, and a dash where an arm has no such phase", () => {
    const table = phaseTable([methodRun(1, 50, baked(80, 70), baked(70, 50)), methodRun(2, 60, baked(90, 60), baked(60, 40))]);
    expect(table[0]).toContain("median of 2 runs");
    const cloudInit = table.find((l) => l.includes("cloud-init done")) ?? "";
    expect(cloudInit).toMatch(/\| 55\.0 \(50\.0, 60\.0\) \| – \| – \|$/);
    const whole = table.find((l) => l.includes("VM start → all services active")) ?? "";
    expect(whole).toMatch(/\| – \| 150\.0 \(150\.0, 150\.0\) \| 110\.0 \(120\.0, 100\.0\) \|$/);
  });
});

describe("the report", () => {
  const setup: MethodSetup = {
    date: "2026-12-01 06:00:00 UTC",
    commit: "abc1234",
    arch: "amd64",
    kind: "knd",
    provider: "local",
    runs: 1,
    order: "base, then GRUB, then direct",
    qemu: { accel: "tcg,thread=single", cpu: "max", cpus: "2", memoryMiB: "2048", machine: "" },
    host: { cores: 2, loadBefore: [5.1, 4.6, 3.1], loadAfter: [3.9, 4.2, 3.9] },
    base: { path: "/b.qcow2", how: "the base" },
    baked: { path: "/i.qcow2", how: "record" },
    bootRecord: { from: "images.json", kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", cmdline: "root=PARTUUID=x ro console=ttyS0" },
    timeScale: { factor: 1, reason: "native amd64 guest (tcg)" },
    services: ["containerd", "kubelet"],
    deliveryFiles: 12,
  };
  const load = { base: { start: 5.1, end: 4.2 }, grub: { start: 4.2, end: 3.9 }, direct: { start: 3.9, end: 3.8 } };

  it("says the host load around each boot, in arm order", () => {
    expect(loadLine(load)).toBe("plain base 5.1 → 4.2, GRUB 4.2 → 3.9, direct 3.9 → 3.8");
  });

  it("carries the set-up, the summary row, the ratios and the load", () => {
    const text = methodMarkdown(setup, [{ ...methodRun(1, 50, baked(80, 70), baked(70, 50)), load }]);
    expect(text).toContain("at abc1234. knd amd64");
    expect(text).toContain("load average 5.1 4.6 3.1 at the start, 3.9 4.2 3.9 at the end");
    expect(text).toContain('-append "root=PARTUUID=x ro console=ttyS0"');
    expect(text).toContain("| amd64, knd (one run) | 50.0 |");
    expect(text).toContain("direct over GRUB, VM start → all services active: 0.80× (one run)");
    expect(text).toContain("plain base 5.1 → 4.2");
  });
});

describe("the plain base is the one the image was baked from", () => {
  const images = (qemuPath: string, digest: string): unknown => ({
    images: [{ name: "podplane-knd-x", target: "qemu", qemu: { path: qemuPath }, baseImage: { source: "debootstrap:base.qcow2", digest } }],
  });

  it("finds the record's base by path or by name, and nothing elsewhere", () => {
    expect(recordedBase(images("/o/images/podplane-knd-x.qcow2", "sha256:aa"), "/o/images/podplane-knd-x.qcow2")).toEqual({ source: "debootstrap:base.qcow2", digest: "sha256:aa" });
    expect(recordedBase(images("/elsewhere/podplane-knd-x.qcow2", "sha256:aa"), "/o/podplane-knd-x.qcow2")?.digest).toBe("sha256:aa");
    expect(recordedBase(images("/o/podplane-knd-x.qcow2", "sha256:aa"), "/o/podplane-knc-y.qcow2")).toBeUndefined();
    expect(recordedBase({ vmconfig: {} }, "/o/podplane-knd-x.qcow2")).toBeUndefined();
  });

  it("accepts the base by digest and refuses another one", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "boot-method-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const base = path.join(dir, "base.qcow2");
    await writeFile(base, "base bytes");
    const other = `sha256:${"0".repeat(64)}`;
    const actual = `sha256:${createHash("sha256").update("base bytes").digest("hex")}`;
    const image = path.join(dir, "podplane-knd-x.qcow2");
    const good = path.join(dir, "good.json");
    const bad = path.join(dir, "bad.json");
    await writeFile(good, JSON.stringify(images(image, actual)));
    await writeFile(bad, JSON.stringify(images(image, other)));
    await expect(checkBase(good, image, base)).resolves.toMatch(/was baked from: debootstrap:base\.qcow2/);
    await expect(checkBase(bad, image, base)).rejects.toThrow(/is not the base/);
  });
});
