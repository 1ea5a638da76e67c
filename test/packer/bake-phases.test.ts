// bench/bake-phases.ts: where a qemu bake's time goes, read from the Packer log a build writes.
import { describe, expect, it } from "vitest";
import { bakePhases } from "../../bench/bake-phases.js";

/** A machine-readable Packer log: [seconds after 1000000000, type, text] per event. */
function log(events: Array<[number, string, string]>): string {
  return ["$ packer build -machine-readable ...", ...events.map(([t, type, text]) => (type.includes(",") ? `${1_000_000_000 + t},${type} ${text}` : `${1_000_000_000 + t},,ui,${type},${text}`))].join("\n");
}

const VM = "podplane.qemu.podplane,ui,message,    build VM:";
const knc: Array<[number, string, string]> = [
  [0, "say", "==> podplane.qemu.podplane: Retrieving ISO"],
  [2, "say", "==> podplane.qemu.podplane: Starting VM%!(PACKER_COMMA) booting disk image"],
  [5, "say", "==> podplane.qemu.podplane: Waiting for shutdown..."],
  [42, VM, "podplane-bake: [39.54] started (kernel 6.12.117+deb13-cloud-amd64)"],
  [47, VM, "podplane-bake: [44.55] install.sh knc"],
  [48, VM, "podplane-install: verified 17 artifacts (digests checked by the host on the read-only stage disk)"],
  [75, VM, "podplane-install: dpkg -i 4 packages"],
  [85, VM, "podplane-import-images: imported registry.k8s.io/pause:3.10.2"],
  [96, VM, "podplane-install: users: a b c (group podplane)"],
  [107, VM, "podplane-install: installed knc: 17 artifacts%!(PACKER_COMMA) 15 units"],
  [113, VM, "validate-image: clean"],
  [114, VM, "podplane-bake: [110.9] ok"],
  [116, "say", "==> podplane.qemu.podplane: Converting hard drive..."],
  [123, "say", "==> podplane.qemu.podplane: Running post-processor:  (type manifest)"],
];

describe("bakePhases", () => {
  it("splits a knc bake at each phase's first event, in order", () => {
    expect(bakePhases(log(knc))).toEqual([
      { name: "before the VM (base checksum and copy, resize)", seconds: 2 },
      { name: "boot to the bake (kernel, initrd)", seconds: 40 },
      { name: "root file system grown, vmconfig unpacked", seconds: 5 },
      { name: "install.sh: artifacts present (digests checked on the host)", seconds: 1 },
      { name: "install.sh: binaries and archives", seconds: 27 },
      { name: "install.sh: dpkg -i, image import", seconds: 10 },
      { name: "install.sh: vmconfig tree, users", seconds: 11 },
      { name: "install.sh: units, installed.json", seconds: 11 },
      { name: "update jobs, cleanup + validate, power-off", seconds: 9 },
      { name: "qcow2 conversion", seconds: 7 },
    ]);
  });

  it("gives a missing phase's time to the one before it (no image to import)", () => {
    const phases = bakePhases(log(knc.filter(([, , text]) => !text.includes("import-images"))));
    expect(phases.find((p) => p.name === "install.sh: vmconfig tree, users")).toBeUndefined();
    expect(phases.find((p) => p.name === "install.sh: dpkg -i, image import")?.seconds).toBe(21);
    expect(phases.reduce((sum, p) => sum + p.seconds, 0)).toBe(123);
  });

  it("takes the conversion from Packer's line even when the bake's last console line reached the log after it", () => {
    const late = knc.filter(([, , text]) => !text.includes("] ok"));
    late.splice(late.findIndex(([, , text]) => text.includes("Converting")) + 1, 0, [116, VM, "podplane-bake: [110.9] ok"]);
    expect(bakePhases(log(late)).slice(-2)).toEqual([
      { name: "update jobs, cleanup + validate, power-off", seconds: 9 },
      { name: "qcow2 conversion", seconds: 7 },
    ]);
  });

  it("refuses a log without a VM start or an end", () => {
    expect(() => bakePhases(log(knc.filter(([, , text]) => !text.includes("Starting VM"))))).toThrow(/no VM start/);
    expect(() => bakePhases(log(knc.slice(0, -1)))).toThrow(/no end/);
  });
});
