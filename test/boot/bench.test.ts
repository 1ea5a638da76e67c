// The boot and fetch benchmarks' pure parts: ratio math, configure.sh's timings line, boot
// phases from a serial log + guest events, the boot-time install user-data (valid bash, every
// artifact fetched from the guest-side mirror, placed where Podplane's user-data installs), the
// guest steps' result parsing and the report's set-up text. The benchmarks themselves boot VMs
// and are run by hand (BENCHMARKS.md).
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { applyingServices } from "../../bench/boot-inputs.js";
import { activeWaitScript, ensureOk, parseRerun } from "../../bench/boot-guest.js";
import { bootPhases, DELIVERY_EVENT, kernelOffset, serialMarks, type GuestTimings } from "../../bench/boot-phases.js";
import { comparisons, markdown, phaseMedians, setupText, type ArmRun, type BenchSetup } from "../../bench/boot-report.js";
import { DOWNLOAD_PARALLEL, guestMirrorForward, renderBootTimeInstall, START_AFTER_INSTALL } from "../../bench/boot-time-install.js";
import { configureRuns, parseTimingsLine, timingsIn } from "../../bench/configure-timings.js";
import { compareRuns, describeRatio, median } from "../../bench/stats.js";
import { testMutableEnv, testUserDataEnv, TEST_NONCE } from "../../pipeline/boot/test-env.js";
import { loadVmconfigSpec } from "../../pipeline/boot/vmconfig-spec.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { renderUserData } from "../../pipeline/userdata/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";

describe("ratio math", () => {
  it("takes the median of an odd and an even count, and refuses nothing or NaN", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
    expect(() => median([1, Number.NaN])).toThrow(/non-finite/);
  });

  it("reports the ratio of medians and the median of per-run ratios, which differ", () => {
    // Run i of one arm pairs with run i of the other.
    const c = compareRuns([2, 3, 10], [1, 3, 4]);
    expect(c.ratios).toEqual([2, 1, 2.5]);
    expect(c.medianOfRatios).toBe(2);
    expect(c.medianNumerator).toBe(3);
    expect(c.medianDenominator).toBe(3);
    expect(c.ratioOfMedians).toBe(1);
    expect(describeRatio(c)).toBe("1.00 (median of per-run ratios 2.00; runs 2.00, 1.00, 2.50)");
  });

  it("refuses unpaired runs and a zero denominator", () => {
    expect(() => compareRuns([1, 2], [1])).toThrow(/pair 2 runs with 1/);
    expect(() => compareRuns([1], [0])).toThrow(/positive/);
  });
});

describe("configure.sh's timings line", () => {
  const PHASES = "bootstrap=1120ms identity=35ms env=80ms writers=410ms commit=95ms starts=2300ms";

  it("is read with its prefix, without it (logger's copy) and behind a journal/console prefix", () => {
    const expected = [["bootstrap", 1120], ["identity", 35], ["env", 80], ["writers", 410], ["commit", 95], ["starts", 2300]];
    expect(parseTimingsLine(`podplane-configure: timings: ${PHASES}`)?.phases).toEqual(expected);
    expect(parseTimingsLine(`timings: ${PHASES}`)?.totalMs).toBe(4040);
    expect(parseTimingsLine(`[   93.3] cloud-init[425]: podplane-configure: timings: ${PHASES}\r`)?.phases).toEqual(expected);
  });

  it("ignores other lines", () => {
    expect(parseTimingsLine("podplane-configure: wrote /opt/env/{kubelet}.env")).toBeUndefined();
    expect(parseTimingsLine("timings: none")).toBeUndefined();
    expect(parseTimingsLine("podplane-configure: timings: bootstrap=12")).toBeUndefined();
  });

  it("folds the journal's and the console's copy of one run, keeps distinct runs in time order", () => {
    const runs = configureRuns([
      { at: 130, text: "podplane-configure: timings: bootstrap=0ms identity=2ms env=3ms writers=4ms commit=0ms starts=900ms" },
      { at: 70.4, text: `podplane-configure: timings: ${PHASES}` },
      { at: 70.1, text: `timings: ${PHASES}` },
      { at: 71, text: "podplane-restart: started: containerd" },
      // The same figures much later are another run.
      { at: 400, text: `timings: ${PHASES}` },
    ]);
    expect(runs.map((r) => r.at)).toEqual([70.1, 130, 400]);
  });

  it("names the step and what was printed when no timings line came", () => {
    expect(timingsIn(`x\npodplane-configure: timings: ${PHASES}\n`, "rerun").totalMs).toBe(4040);
    expect(() => timingsIn("podplane-configure: error: NSTANCE_CA_CERT: not a PEM\n", "rerun")).toThrow(/rerun: configure.sh printed no timings line \(last lines: podplane-configure: error/);
  });
});

const FIRST = "bootstrap=1100ms identity=40ms env=90ms writers=400ms commit=100ms starts=2200ms";
const DELIVERY = "bootstrap=0ms identity=5ms env=20ms writers=300ms commit=80ms starts=3000ms";
const SERIAL = [
  { seconds: 0.4, text: "  Booting `Debian GNU/Linux'" },
  { seconds: 6.9, text: "[    0.000000] Linux version 6.12" },
  { seconds: 7.5, text: "[    0.700000] console [ttyS0] enabled" },
  { seconds: 20.0, text: "[   13.000000] systemd[1]: Inserted module 'autofs4'" },
  { seconds: 70.0, text: "[   62.000000] cloud-init[425]: Cloud-init v. 25.1.4 running 'modules:final' at ..." },
  { seconds: 70.3, text: "[userdata] Podplane user-data (baked image) has started.\tts=1.2" },
  // The console's copy of the first configure's line, a little after the journal's.
  { seconds: 76.5, text: `podplane-configure: timings: ${FIRST}` },
];
const UNITS = ["kubelet.service", "zot.service"];

function timings(overrides: Partial<GuestTimings> = {}): GuestTimings {
  return {
    events: { userScriptStart: 62.5, [DELIVERY_EVENT]: 100 },
    configureLines: [
      { at: 69.2, text: `timings: ${FIRST}` },
      { at: 104.1, text: `podplane-configure: timings: ${DELIVERY}` },
    ],
    units: { "kubelet.service": { state: "active", at: 104.0 }, "zot.service": { state: "active", at: 103.0 } },
    systemdAnalyze: "Startup finished in 6.7s (kernel) + 63.3s (userspace) = 70.0s",
    ...overrides,
  };
}

describe("boot phases", () => {
  it("ties the guest clock to the host through the earliest printk-stamped line", () => {
    expect(kernelOffset(SERIAL)).toBeCloseTo(6.8, 5);
    expect(() => kernelOffset([{ seconds: 1, text: "no stamps" }])).toThrow(/printk/);
  });

  it("computes user-data → first configure, delivery → all active, and their sum in host seconds", () => {
    const p = bootPhases(SERIAL, timings(), UNITS);
    expect(p.toUserData).toBeCloseTo(69.3, 5);
    expect(p.configureDone).toBeCloseTo(76.0, 5); // the journal's copy (69.2 + 6.8), not the console's 76.5
    expect(p.userDataToConfigure).toBeCloseTo(6.7, 5);
    expect(p.delivered).toBeCloseTo(106.8, 5);
    expect(p.deliveryToActive).toBeCloseTo(4.0, 5);
    expect(p.userDataToActive).toBeCloseTo(10.7, 5);
    expect(p.whole).toBeCloseTo(80.0, 5);
    expect(p.firstConfigure.phases.map(([n]) => n)).toEqual(["bootstrap", "identity", "env", "writers", "commit", "starts"]);
    expect(p.deliveryConfigure.totalMs).toBe(3405);
    expect(serialMarks(SERIAL).map((m) => m.phase)).toEqual([
      "firmware (first serial output)",
      "bootloader (GRUB)",
      "kernel",
      "systemd",
      "cloud-init modules:final",
      "user-data started",
      "first configure done (timings line)",
    ]);
  });

  it("takes the first configure from the console when the journal has no copy", () => {
    const p = bootPhases(SERIAL, timings({ configureLines: [{ at: 104.1, text: `timings: ${DELIVERY}` }] }), UNITS);
    expect(p.configureDone).toBeCloseTo(76.5, 5);
  });

  it("fails instead of reporting a time when a step did not happen", () => {
    expect(() => bootPhases(SERIAL, timings({ units: { "kubelet.service": { state: "failed", at: 0 }, "zot.service": { state: "active", at: 103 } } }), UNITS)).toThrow(/kubelet.service \(failed\)/);
    expect(() => bootPhases(SERIAL, timings({ units: { "kubelet.service": { state: "active", at: 104 } } }), UNITS)).toThrow(/zot.service \(unknown\)/);
    expect(() => bootPhases(SERIAL, timings({ events: { userScriptStart: 62.5 } }), UNITS)).toThrow(/no bench:delivery event/);
    expect(() => bootPhases(SERIAL.slice(0, -1), timings({ configureLines: [{ at: 104.1, text: `timings: ${DELIVERY}` }] }), UNITS)).toThrow(/first configure did not finish/);
    expect(() => bootPhases(SERIAL, timings({ configureLines: [{ at: 69.2, text: `timings: ${FIRST}` }] }), UNITS)).toThrow(/after the delivery/);
    expect(() => bootPhases(SERIAL, timings({ units: { "kubelet.service": { state: "active", at: 90 }, "zot.service": { state: "active", at: 91 } } }), UNITS)).toThrow(/before the delivery/);
  });
});

describe("the boot-time install user-data", () => {
  it("is the slim user-data with download and install where Podplane's user-data has them, valid bash", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const mirror = await generateStandinMirror({ dir, kinds: ["knc"], arches: ["amd64"] });
    const [manifest] = await loadManifests(mirror.manifestsDir);
    const slim = renderUserData({ kind: "knc", format: "script", env: testUserDataEnv("knc", "local"), nonce: TEST_NONCE });
    const script = renderBootTimeInstall({ manifest: manifest!, slimUserData: slim });
    expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
    for (const dep of manifest!.dependencies.filter((d) => !d.local)) {
      expect(script).toContain(`${new URL(dep.url).host}${new URL(dep.url).pathname}\tartifacts/${dep.name}/`);
      expect(script).toContain(`\t${dep.digest}\t`);
    }
    expect(script).toContain("vmconfig.tar.gz\tvmconfig.tar.gz\n");
    expect(script).toContain("readonly MIRROR=http://10.0.2.100\n");
    expect(script).toContain(`python3 - "$MIRROR" "$STAGE" ${DOWNLOAD_PARALLEL} <<`);
    // After the wait for nstance-server, before user-data.env, the identity and configure.sh.
    const order = ["Connection successful", "download start", 'install.sh" knc "$STAGE"', "systemctl start nstance-recv-watch.path", "install done", "# --- 7. user-data.env", "nonce.jwt", "/opt/podplane/bin/configure.sh"].map((s) => script.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Everything the slim user-data does, it still does.
    expect(script.replace(/# --- 5\. Download[\s\S]*?\n\)\n\n/, "")).toBe(slim);
    expect(guestMirrorForward(8080)).toBe("tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080");
    expect(() => renderBootTimeInstall({ manifest: manifest!, slimUserData: "#!/bin/bash\necho slim\n" })).toThrow(/no "# --- 7\. …" section/);
    const unpinned = { ...manifest!, dependencies: manifest!.dependencies.map((d, i) => (i === 0 ? { ...d, digest: "", local: false } : d)) };
    expect(() => renderBootTimeInstall({ manifest: unpinned, slimUserData: slim })).toThrow(/unpinned artifacts cannot be verified/);
  });
});

describe("units a boot-time install starts itself", () => {
  it("are every path and timer unit of the vmconfig tree (a baked image's boot starts them; this boot is past that)", async () => {
    const dir = path.join(import.meta.dirname, "..", "..", "scripts", "vmconfig", "etc", "systemd", "system");
    const units = (await readdir(dir)).filter((f) => /\.(path|timer)$/.test(f)).sort();
    expect([...START_AFTER_INSTALL].sort()).toEqual(units);
  });
});

describe("the services a benchmark VM must run", () => {
  it("follows configure.sh's merge and services.tsv's conditions", () => {
    const spec = loadVmconfigSpec();
    const knc = applyingServices(spec, "knc", [testUserDataEnv("knc", "local"), testMutableEnv("knc")]);
    expect(knc).toEqual(expect.arrayContaining(["nstance-agent", "containerd", "kubelet", "zot", "fluent-bit", "kube-apiserver", "netsy"]));
    expect(knc).not.toContain("kube2iam");
    const knd = applyingServices(spec, "knd", [testUserDataEnv("knd", "aws"), testMutableEnv("knd")]);
    expect(knd).toContain("kube2iam");
    expect(knd).not.toContain("kube-apiserver");
    expect(knd).not.toContain("fluent-bit"); // telemetry off for knd in the test mutable.env
  });
});

describe("guest steps", () => {
  const TIMINGS = "podplane-configure: timings: bootstrap=0ms identity=3ms env=40ms writers=300ms commit=0ms starts=200ms";

  it("reads the rerun of configure.sh: guest time, its timings, whether it was a no-op", () => {
    const rerun = parseRerun(`101.25 102.50 0\npodplane-restart: started: none; restarted: none; stopped: none; unchanged: kubelet zot\n${TIMINGS}\n`);
    expect(rerun.vmSeconds).toBeCloseTo(1.25, 5);
    expect(rerun.timings.totalMs).toBe(543);
    expect(rerun.noop).toBe(true);
    expect(parseRerun(`1 2 0\npodplane-restart: started: none; restarted: zot; stopped: none; unchanged: kubelet\n${TIMINGS}\n`).noop).toBe(false);
  });

  it("fails on configure.sh's exit status, a missing summary or timings line", () => {
    expect(() => parseRerun("1 2 1\npodplane-configure: error: mutable.env: bad\n")).toThrow(/exited 1: podplane-configure: error: mutable.env: bad/);
    expect(() => parseRerun(`1 2 0\n${TIMINGS}\n`)).toThrow(/no summary line/);
    expect(() => parseRerun("1 2 0\npodplane-restart: started: none; restarted: none; stopped: none; unchanged: x\n")).toThrow(/no timings line/);
    expect(() => parseRerun("sudo: a password is required\n")).toThrow(/unexpected first line/);
  });

  it("turns an ssh or command failure into an error naming the step", () => {
    expect(() => ensureOk({ exitCode: 255, stdout: "", stderr: "Connection refused" }, "the delivery")).toThrow("the delivery: ssh failed (exit 255): Connection refused");
    expect(() => ensureOk({ exitCode: 3, stdout: "a\nb", stderr: "c" }, "boot-timings.py")).toThrow("boot-timings.py: exit 3: a | b | c");
    expect(ensureOk({ exitCode: 0, stdout: "ok", stderr: "" }, "x").stdout).toBe("ok");
  });

  it("waits for units with a valid bash script and refuses anything but unit names", () => {
    expect(() => execFileSync("bash", ["-n"], { input: activeWaitScript(["kubelet.service", "zot.service"]) })).not.toThrow();
    expect(() => activeWaitScript(["kubelet.service; reboot"])).toThrow(/not a unit name/);
  });
});

describe("the report", () => {
  const setup: BenchSetup = {
    date: "2026-11-26 10:00:00 UTC",
    commit: "abc1234",
    kind: "knc",
    arch: "amd64",
    provider: "local",
    runs: 2,
    padBytes: 530_000_000,
    setBytes: 529_600_000,
    artifactCount: 17,
    qemu: { accel: "tcg,thread=single", cpus: "2", memoryMiB: "2048" },
    host: { cores: 2, loadBefore: [3.1, 2.5, 2.0], loadAfter: [4, 3, 2] },
    base: { path: "/c/base.qcow2", how: "given with --base" },
    baked: { path: "/c/knc.qcow2", how: "baked now by build --base debootstrap into /w/out" },
    services: ["nstance-agent", "kubelet"],
    deliveryFiles: 28,
    downloadParallel: 10,
    mirrorGuest: "10.0.2.100:80",
  };

  it("says what was run, from the options", () => {
    const text = setupText(setup);
    for (const piece of ["2026-11-26 10:00:00 UTC", "abc1234", "2 runs per arm", "17 artifacts, 530 MB", "-accel tcg,thread=single, -smp 2, -m 2048", "2 cores, load average 3.1 2.5 2.0", "4.0 3.0 2.0 at the end", "/c/base.qcow2 (given with --base)", "(10 in parallel)", "baked now by build", "28 files", "nstance-agent, kubelet"]) {
      expect(text).toContain(piece);
    }
    expect(setupText({ ...setup, runs: 1, qemu: { accel: "kvm", cpus: "2", memoryMiB: "2048" } })).toMatch(/1 run per arm.*\n.*\nVMs: QEMU -accel kvm/);
  });

  it("gives per-phase medians and both ratios for every phase row", () => {
    const t = (ms: number[]) => ({ phases: [["bootstrap", ms[0]], ["starts", ms[1]]] as Array<[string, number]>, totalMs: (ms[0] ?? 0) + (ms[1] ?? 0) });
    expect(phaseMedians([t([10, 100]), t([30, 300]), t([20, 200])])).toEqual([["bootstrap", 20], ["starts", 200]]);
    const phases = bootPhases(SERIAL, timings(), UNITS);
    const run = (arm: ArmRun["arm"], n: number, scale: number): ArmRun => ({
      arm,
      run: n,
      image: `${arm}.qcow2`,
      phases: { ...phases, toUserData: phases.toUserData * scale, userDataToConfigure: phases.userDataToConfigure * scale, deliveryToActive: phases.deliveryToActive * scale, userDataToActive: phases.userDataToActive * scale, whole: phases.whole * scale },
      timings: timings(),
      rerun: { vmSeconds: 1.2, timings: t([0, 10]), restartSummary: "started: none; restarted: none; stopped: none; unchanged: kubelet", noop: true },
      serialLog: "serial.log",
      mirrorGets: arm === "install" ? 18 : 0,
    });
    const install = [run("install", 1, 20), run("install", 2, 30)];
    const baked = [run("baked", 1, 1), run("baked", 2, 2)];
    const rows = comparisons(install, baked);
    const headline = rows.find((r) => r.key === "userDataToActive")?.c;
    expect(headline?.ratios.map((r) => r.toFixed(2))).toEqual(["20.00", "15.00"]);
    expect(headline?.medianOfRatios).toBeCloseTo(17.5, 5);
    expect(headline?.ratioOfMedians).toBeCloseTo(25 / 1.5, 5);
    const report = markdown(setup, install, baked);
    expect(report).toContain("| ratio of medians | median of per-run ratios | per-run ratios |");
    expect(report).toContain("Headline: user-data start → all services active, boot-time install / baked = 16.67 (median of per-run ratios 17.50; runs 20.00, 15.00).");
    expect(report).toContain("First-boot configure.sh (run by the user-data, before the delivery)");
    expect(report).toContain("| baked | 1100 | 40 | 90 | 400 | 100 | 2200 | 3930 |");
    expect(report).toContain("Every rerun started, restarted and stopped nothing.");
  });
});
