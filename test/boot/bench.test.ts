// The boot benchmark's pure parts: phases from a serial log + guest events, and the boot-time
// install user-data (valid bash, every artifact fetched from the guest-side mirror).
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { bootPhases, kernelOffset, serialMarks } from "../../bench/boot-phases.js";
import { guestMirrorForward, renderBootTimeInstall } from "../../bench/boot-time-install.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";

const SERIAL = [
  { seconds: 0.4, text: "  Booting `Debian GNU/Linux'" },
  { seconds: 6.9, text: "[    0.000000] Linux version 6.12" },
  { seconds: 7.5, text: "[    0.700000] console [ttyS0] enabled" },
  { seconds: 20.0, text: "[   13.000000] systemd[1]: Inserted module 'autofs4'" },
  { seconds: 70.0, text: "[   62.000000] cloud-init[425]: Cloud-init v. 25.1.4 running 'modules:final' at ..." },
  { seconds: 100.2, text: "[   93.300000] cloud-init[425]: podplane-restart: started: kubelet" },
];

describe("boot phases", () => {
  it("ties the guest clock to the host through the earliest printk-stamped line", () => {
    expect(kernelOffset(SERIAL)).toBeCloseTo(6.8, 5);
    expect(() => kernelOffset([{ seconds: 1, text: "no stamps" }])).toThrow(/printk/);
  });

  it("computes VM start → user-data → configure → all active in host seconds", () => {
    const phases = bootPhases(
      SERIAL,
      { events: { userScriptStart: 62.5, configureDone: 93.3 }, units: { "kubelet.service": { state: "active", at: 93.0 }, "zot.service": { state: "active", at: 90.0 } }, systemdAnalyze: "" },
      ["kubelet.service", "zot.service"],
    );
    expect(phases.toUserData).toBeCloseTo(69.3, 5);
    expect(phases.userDataToConfigure).toBeCloseTo(30.8, 5);
    expect(phases.userDataToActive).toBeCloseTo(30.5, 5);
    expect(phases.whole).toBeCloseTo(99.8, 5);
    expect(serialMarks(SERIAL).map((m) => m.phase)).toEqual(["firmware (first serial output)", "bootloader (GRUB)", "kernel", "systemd", "cloud-init modules:final", "user script: configure done"]);
    expect(() => bootPhases(SERIAL, { events: { userScriptStart: 1, configureDone: 2 }, units: { "kubelet.service": { state: "failed", at: 0 } }, systemdAnalyze: "" }, ["kubelet.service"])).toThrow(/kubelet/);
  });
});

describe("the boot-time install user-data", () => {
  it("is valid bash that fetches every artifact of the kind from the guest-side mirror and ends with the slim user-data", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pp-bench-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const mirror = await generateStandinMirror({ dir, kinds: ["knc"], arches: ["amd64"] });
    const [manifest] = await loadManifests(mirror.manifestsDir);
    const script = renderBootTimeInstall({ manifest: manifest!, slimUserData: "#!/bin/bash\necho slim\n" });
    expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
    for (const dep of manifest!.dependencies.filter((d) => !d.local)) {
      expect(script).toContain(`${new URL(dep.url).host}${new URL(dep.url).pathname}\tartifacts/${dep.name}/`);
      expect(script).toContain(`\t${dep.digest}\t`);
    }
    expect(script).toContain("readonly MIRROR=http://10.0.2.100\n");
    expect(script.indexOf("install.sh knc")).toBeLessThan(script.indexOf("echo slim"));
    expect(guestMirrorForward(8080)).toBe("tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080");
  });
});
