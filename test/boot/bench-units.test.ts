// The boot benchmark's per-unit breakdown (bench/boot-units.ts) and the rerun's sudo/source
// split: what systemd did with each unit in the first configure and in the delivery's, how long
// each start job took, and when a stand-in had passed its checks.
import { describe, expect, it } from "vitest";
import { parseRerun, RERUN_CONFIGURE } from "../../bench/boot-guest.js";
import { restartSummaries, unitBreakdown, unitTable, unitWindow, type UnitJob } from "../../bench/boot-units.js";

const job = (at: number, what: UnitJob["what"]): UnitJob => ({ at, what });

describe("a unit's window", () => {
  it("tells a start from a restart and measures the start job and the stand-in's checks", () => {
    const jobs = [job(105, "stopping"), job(105.5, "stopped"), job(105.6, "starting"), job(106.0, "started")];
    const w = unitWindow(jobs, [50, 107.5], 100, 100, Number.POSITIVE_INFINITY);
    expect(w.actions).toEqual(["restart"]);
    expect(w.askedAfter).toBeCloseTo(5, 6);
    expect(w.startJob).toBeCloseTo(0.4, 6);
    expect(w.startedAfter).toBeCloseTo(6, 6);
    expect(w.standinReady).toBeCloseTo(1.5, 6);
  });

  it("keeps jobs outside the window out, and says skipped, stop, failed and crash restarts", () => {
    const jobs = [job(10, "skipped"), job(20, "starting"), job(21, "failed"), job(22, "restart-scheduled"), job(30, "stopping"), job(31, "stopped")];
    expect(unitWindow(jobs, [], 0, 0, 15).actions).toEqual(["skipped"]);
    const later = unitWindow(jobs, [], 15, 15, 100);
    expect(later.actions).toEqual(["start", "failed", "crash-restart", "stop"]);
    expect(later.startJob).toBeUndefined();
    expect(later.standinReady).toBeUndefined();
  });
});

describe("the breakdown", () => {
  it("splits each unit's jobs at the delivery and matches the stand-in by the unit's name", () => {
    const rows = unitBreakdown(
      {
        unitJobs: {
          "containerd.service": [job(62, "starting"), job(64, "started")],
          "kubelet.service": [job(62, "skipped"), job(101, "starting"), job(101.2, "started")],
        },
        standinStarts: { kubelet: [102.2] },
      },
      ["containerd.service", "kubelet.service", "zot.service"],
      60,
      100,
    );
    expect(rows.map((r) => [r.unit, r.firstBoot.actions, r.delivery.actions])).toEqual([
      ["containerd.service", ["start"], []],
      ["kubelet.service", ["skipped"], ["start"]],
      ["zot.service", [], []],
    ]);
    expect(rows[0]?.firstBoot.startJob).toBeCloseTo(2, 6);
    expect(rows[1]?.delivery.standinReady).toBeCloseTo(1, 6);
    const table = unitTable(rows).join("\n");
    expect(table).toContain("| kubelet.service | – | – | – | skipped | 2.0 | – | – | start | 1.0 | 0.2 | 1.2 | 1.0 |");
    expect(table).toContain("| zot.service | – | – | – | – | – | – | – | – | – | – | – | – |");
  });

  it("shows a start at boot before the user-data (containerd from install.sh's files), measured to its end after the user-data began", () => {
    const rows = unitBreakdown(
      { unitJobs: { "containerd.service": [job(40, "starting"), job(63, "started")], "kubelet.service": [job(41, "skipped"), job(101, "starting"), job(101.2, "started")] } },
      ["containerd.service", "kubelet.service"],
      60,
      100,
    );
    expect(rows.map((r) => [r.unit, r.boot?.actions, r.firstBoot.actions, r.delivery.actions])).toEqual([
      ["containerd.service", ["start"], [], []],
      ["kubelet.service", ["skipped"], [], ["start"]],
    ]);
    expect(rows[0]?.boot?.askedAfter).toBeCloseTo(-20, 6);
    expect(rows[0]?.boot?.startJob).toBeCloseTo(23, 6);
    const table = unitTable(rows).join("\n");
    expect(table).toContain("| containerd.service | start | -20.0 | 23.0 | – | – | – | – | – | – | – | – | – |");
    // A result written before the boot window existed still makes a table.
    expect(unitTable([{ unit: "x.service", firstBoot: { actions: [] }, delivery: { actions: [] } }]).join("\n")).toContain("| x.service | – | – | – |");
  });

  it("takes restart.sh's summaries from the console and the journal, one per run", () => {
    const line = "started: kubelet; restarted: none; stopped: none; unchanged: none; waiting for their inputs: none";
    const runs = restartSummaries([{ seconds: 70.2, text: `[userdata] podplane-restart: ${line}\r` }], [{ at: 60, text: line }, { at: 120, text: "started: none; restarted: netsy; stopped: none" }], 10);
    expect(runs.map((r) => r.at)).toEqual([70, 130]);
    expect(runs[1]?.text).toContain("restarted: netsy");
  });
});

describe("the rerun's sudo and source split", () => {
  it("reads the three extra uptime stamps, and still reads the old three-field line", () => {
    const tail = "podplane-restart: started: none; restarted: none; stopped: none; unchanged: kubelet\npodplane-configure: timings: bootstrap=1ms starts=5ms\n";
    const r = parseRerun(`110.00 111.50 0 100.00 104.25 109.00\n${tail}`);
    expect(r.vmSeconds).toBeCloseTo(1.5, 6);
    expect(r.sudoSeconds).toBeCloseTo(4.25, 6);
    expect(r.sourceSeconds).toBeCloseTo(4.75, 6);
    expect(parseRerun(`1.00 2.00 0\n${tail}`).sudoSeconds).toBeUndefined();
    expect(RERUN_CONFIGURE).toContain("sudo -n true");
  });
});
