// bench/bake-phases.ts: where a qemu bake's time goes, read from the Packer log a build writes.
import { describe, expect, it } from "vitest";
import { bakePhases } from "../../bench/bake-phases.js";

/** A machine-readable Packer log: [seconds after 1000000000, type, text] per event. */
function log(events: Array<[number, string, string]>): string {
  return ["$ packer build -machine-readable ...", ...events.map(([t, type, text]) => `${1_000_000_000 + t},,ui,${type},${text}`)].join("\n");
}

const knc: Array<[number, string, string]> = [
  [0, "say", "==> podplane.qemu.podplane: Retrieving ISO"],
  [2, "say", "==> podplane.qemu.podplane: Starting VM%!(PACKER_COMMA) booting disk image"],
  [5, "say", "==> podplane.qemu.podplane: Waiting for SSH to become available..."],
  [60, "say", "==> podplane.qemu.podplane: Connected to SSH!"],
  [60, "say", "==> podplane.qemu.podplane: Provisioning with shell script: /tmp/packer-shell1"],
  [63, "say", "==> podplane.qemu.podplane: Uploading /p/packer/scripts/ => /var/tmp/podplane-bake"],
  [64, "say", "==> podplane.qemu.podplane: Provisioning with shell script: /tmp/packer-shell2"],
  [70, "error", "==> podplane.qemu.podplane: podplane-install: verified 17 artifacts"],
  [80, "error", "==> podplane.qemu.podplane: podplane-install: dpkg -i 4 packages"],
  [85, "error", "==> podplane.qemu.podplane: podplane-import-images: imported registry.k8s.io/pause:3.10.2"],
  [95, "error", "==> podplane.qemu.podplane: podplane-install: users: a b c (group podplane)"],
  [100, "error", "==> podplane.qemu.podplane: podplane-install: installed knc: 17 artifacts%!(PACKER_COMMA) 15 units"],
  [101, "say", "==> podplane.qemu.podplane: Provisioning with shell script: /tmp/packer-shell3"],
  [108, "error", "==> podplane.qemu.podplane: validate-image: clean"],
  [109, "say", "==> podplane.qemu.podplane: Gracefully halting virtual machine..."],
  [111, "say", "==> podplane.qemu.podplane: Converting hard drive..."],
  [120, "say", "==> podplane.qemu.podplane: Running post-processor:  (type manifest)"],
];

describe("bakePhases", () => {
  it("splits a knc bake at each phase's first event, in order", () => {
    expect(bakePhases(log(knc))).toEqual([
      { name: "before the VM (base checksum and copy, seed CD, resize)", seconds: 2 },
      { name: "boot to SSH", seconds: 58 },
      { name: "stage mount", seconds: 3 },
      { name: "scripts upload", seconds: 1 },
      { name: "install.sh: verify digests", seconds: 6 },
      { name: "install.sh: binaries and archives", seconds: 10 },
      { name: "install.sh: dpkg -i, image import", seconds: 5 },
      { name: "install.sh: vmconfig tree, users", seconds: 10 },
      { name: "install.sh: units, installed.json", seconds: 5 },
      { name: "cleanup + validate", seconds: 9 },
      { name: "poweroff", seconds: 2 },
      { name: "qcow2 conversion", seconds: 9 },
    ]);
  });

  it("gives a missing phase's time to the one before it (no image to import)", () => {
    const phases = bakePhases(log(knc.filter(([, , text]) => !text.includes("import-images"))));
    expect(phases.find((p) => p.name === "install.sh: vmconfig tree, users")).toBeUndefined();
    expect(phases.find((p) => p.name === "install.sh: dpkg -i, image import")?.seconds).toBe(15);
    expect(phases.reduce((sum, p) => sum + p.seconds, 0)).toBe(120);
  });

  it("refuses a log without a VM start or an end", () => {
    expect(() => bakePhases(log(knc.filter(([, , text]) => !text.includes("Starting VM"))))).toThrow(/no VM start/);
    expect(() => bakePhases(log(knc.slice(0, -1)))).toThrow(/no end/);
  });
});
