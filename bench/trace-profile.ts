// Where a bash run spent its time, from an xtrace whose PS4 stamps each line:
// `+ <EPOCHREALTIME> <script>:<line> <function> <command>` (the `+`s repeat with the nesting).
// Each gap between two stamped lines is charged to the earlier line's script and function: the
// line that was running (or waiting for its child) until the next one started. Several processes
// appending to one trace (a script and the scripts it runs) interleave in time order, so the
// charge still goes to whatever ran last. The trace slows what it traces: this aims a cut, it does
// not time one.

/** PS4 that gives the stamp profileTrace reads. Root's bash ignores PS4 from the environment: set it inside. */
export const PROFILED_PS4 = "+ ${EPOCHREALTIME} ${BASH_SOURCE[0]##*/}:${LINENO} ${FUNCNAME[0]:-main} ";

const STAMPED = /^\++ (\d+(?:[.,]\d+)?) (\S*):(\d+) (\S+) /;

export interface ProfileRow {
  /** `<script> <function>`, e.g. `deliveries.sh check_pem`. */
  where: string;
  ms: number;
  /** Traced lines charged to it. */
  lines: number;
}

export interface TraceProfile {
  /** First stamp to last, ms. */
  totalMs: number;
  rows: ProfileRow[];
}

/** Rows by time spent, largest first; lines without a stamp (a child's default PS4, its output) are skipped. */
export function profileTrace(text: string): TraceProfile {
  const byWhere = new Map<string, ProfileRow>();
  let previous: { at: number; where: string } | undefined;
  let first: number | undefined;
  for (const line of text.split("\n")) {
    const match = STAMPED.exec(line);
    if (!match) continue;
    const at = Number(match[1]!.replace(",", ".")) * 1000;
    const where = `${match[2] || "-"} ${match[4]}`;
    first ??= at;
    if (previous) {
      const row = byWhere.get(previous.where) ?? { where: previous.where, ms: 0, lines: 0 };
      row.ms += Math.max(0, at - previous.at);
      row.lines += 1;
      byWhere.set(previous.where, row);
    }
    previous = { at, where };
  }
  const rows = [...byWhere.values()].sort((a, b) => b.ms - a.ms);
  return { totalMs: first === undefined || !previous ? 0 : previous.at - first, rows };
}

/** A short Markdown table of the top rows. */
export function profileTable(profile: TraceProfile, top = 12): string {
  const lines = ["| script function | ms | traced lines |", "|---|---:|---:|"];
  for (const row of profile.rows.slice(0, top)) lines.push(`| ${row.where} | ${row.ms.toFixed(0)} | ${row.lines} |`);
  lines.push(`| (all, first stamp to last) | ${profile.totalMs.toFixed(0)} | |`);
  return lines.join("\n");
}
