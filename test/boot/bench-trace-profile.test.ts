// The boot benchmark's delivery trace profile (bench/trace-profile.ts): each gap between stamped
// xtrace lines goes to the script and function of the earlier line.
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PROFILED_PS4, profileTable, profileTrace } from "../../bench/trace-profile.js";

describe("profileTrace", () => {
  it("charges each gap to the earlier line's script and function, and skips unstamped lines", () => {
    const trace = [
      "+ 100.000000 nstance-recv-watch.sh:160 main load_image_kind",
      "++ 100.010000 deliveries.sh:30 load_deliveries read -r name",
      "plain output of a command",
      "+ default-ps4 line of a child",
      "++ 100.510000 deliveries.sh:190 check_pem pem_matches x.crt",
      "+++ 100.530000 deliveries.sh:200 pem_matches [[ ... ]]",
      "++ 101.530000 nstance-recv-watch.sh:172 main configure.sh",
    ].join("\n");
    const profile = profileTrace(trace);
    expect(profile.totalMs).toBeCloseTo(1530, 3);
    expect(profile.rows.map((r) => [r.where, Math.round(r.ms), r.lines])).toEqual([
      ["deliveries.sh pem_matches", 1000, 1],
      ["deliveries.sh load_deliveries", 500, 1],
      ["deliveries.sh check_pem", 20, 1],
      ["nstance-recv-watch.sh main", 10, 1],
    ]);
    expect(profileTable(profile, 2)).toContain("| deliveries.sh pem_matches | 1000 | 1 |");
    expect(profileTable(profile, 2)).not.toContain("check_pem");
  });

  it("reads a trace real bash wrote with PROFILED_PS4: the function that sleeps is on top", async () => {
    const script = `PS4='${PROFILED_PS4}'; set -x; slow() { sleep 0.3; }; quick() { :; }; quick; slow; quick; true`;
    const { stderr } = await execa("bash", ["-c", script]);
    const profile = profileTrace(stderr);
    // (functions defined by `bash -c` have the source "environment")
    expect(profile.rows[0]?.where).toBe("environment slow");
    expect(profile.rows[0]?.ms).toBeGreaterThanOrEqual(250);
    expect(profile.totalMs).toBeGreaterThanOrEqual(profile.rows[0]!.ms);
  });

  it("gives an empty profile for a trace without stamps", () => {
    expect(profileTrace("+ set -x\nhello\n")).toEqual({ totalMs: 0, rows: [] });
  });
});
