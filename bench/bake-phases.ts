// Where a qemu bake's time goes, from the log the build writes (`<out>/logs/<name>.log`): `packer
// build -machine-readable`, one `<unix seconds>,<target>,<type>,<data...>` line per event, and the
// build VM's console lines the build adds in the same shape as they arrive ("build VM: ..."; the
// VM bakes by itself, Packer only waits for its power-off). Each phase runs from the first line
// matching its start to the first later line matching the next phase's start; the stamps are
// whole seconds, so each figure is ±1 s.

export interface BakePhase {
  name: string;
  seconds: number;
}

/** The phases in order, each named by the event that starts it. */
const MARKS: ReadonlyArray<{ name: string; start: RegExp }> = [
  { name: "before the VM (base checksum and copy, resize)", start: /./ },
  { name: "boot to the bake (kernel, initrd)", start: /Starting VM/ },
  { name: "root file system grown, vmconfig unpacked", start: /podplane-bake: \[[\d.]+\] started/ },
  { name: "install.sh: artifacts present (digests checked on the host)", start: /podplane-bake: \[[\d.]+\] install\.sh/ },
  { name: "install.sh: binaries and archives", start: /podplane-install: verified \d+ artifacts/ },
  { name: "install.sh: dpkg -i, image import", start: /podplane-install: (dpkg -i|the \d+ \.deb packages)/ },
  { name: "install.sh: vmconfig tree, users", start: /podplane-import-images: imported/ },
  { name: "install.sh: units, installed.json", start: /podplane-install: users:/ },
  // To the VM's end: the power-off comes a fraction of a second after the bake's `ok`, whose
  // console line can reach the log after Packer's next event.
  { name: "update jobs, cleanup + validate, power-off", start: /podplane-install: installed kn[dc]:/ },
  { name: "qcow2 conversion", start: /Converting hard drive/ },
  { name: "end", start: /Running post-processor|Builds finished/ },
];

interface Line {
  time: number;
  text: string;
}

function lines(log: string): Line[] {
  const out: Line[] = [];
  for (const raw of log.split("\n")) {
    const match = /^(\d{9,}),[^,]*,ui,(?:say|message|error),(.*)$/.exec(raw);
    if (match?.[1] && match[2] !== undefined) out.push({ time: Number(match[1]), text: match[2] });
  }
  return out;
}

/**
 * The phases of one qemu bake's Packer log, in order. A phase whose start is not in the log (a
 * knd bake imports no image before its users line, a stage without .debs runs no dpkg) is left out
 * and its time goes to the phase before it. Throws when the log has no VM start or no end.
 */
export function bakePhases(log: string): BakePhase[] {
  const events = lines(log);
  const found: Array<{ name: string; time: number }> = [];
  let from = 0;
  for (const mark of MARKS) {
    const index = events.findIndex((e, i) => i >= from && mark.start.test(e.text));
    if (index < 0) continue;
    const event = events[index] as Line;
    found.push({ name: mark.name, time: event.time });
    from = index + 1;
  }
  if (!found.some((f) => f.name.startsWith("boot to the bake"))) throw new Error("the Packer log has no VM start");
  if (found.at(-1)?.name !== "end") throw new Error("the Packer log has no end of the build");
  return found.slice(0, -1).map((f, i) => ({ name: f.name, seconds: (found[i + 1] as { time: number }).time - f.time }));
}
