// configure.sh's per-phase timings line, `podplane-configure: timings: bootstrap=12ms identity=3ms
// ...` (the prefix is absent when logger wrote it to the journal). The first boot's line can be
// seen twice (logger's copy in the journal and cloud-init's copy of the script's stderr), so
// identical lines close together count as one run.

export interface ConfigureTimings {
  /** Phase name → milliseconds, in the order configure.sh ran them. */
  phases: Array<[string, number]>;
  totalMs: number;
}

const LINE = /(?:^|\s|:)timings: ((?:[a-z][a-z0-9_-]*=\d+ms)(?: [a-z][a-z0-9_-]*=\d+ms)*)\s*$/;

/** The timings of one line, or undefined when the line carries none. */
export function parseTimingsLine(text: string): ConfigureTimings | undefined {
  const match = LINE.exec(text.trimEnd());
  if (!match) return undefined;
  const phases = (match[1] as string).split(" ").map((pair): [string, number] => {
    const [name, ms] = pair.split("=") as [string, string];
    return [name, Number(ms.slice(0, -2))];
  });
  return { phases, totalMs: phases.reduce((sum, [, ms]) => sum + ms, 0) };
}

/** The timings line in some text (a command's stderr), or an error naming what was seen instead. */
export function timingsIn(text: string, what: string): ConfigureTimings {
  for (const line of text.split("\n")) {
    const parsed = parseTimingsLine(line);
    if (parsed) return parsed;
  }
  const tail = text.trim().split("\n").slice(-3).join(" | ");
  throw new Error(`${what}: configure.sh printed no timings line${tail ? ` (last lines: ${tail})` : " (no output)"}`);
}

export interface ConfigureRun extends ConfigureTimings {
  /** Host seconds since the VM started, when the line was logged. */
  at: number;
  text: string;
}

/** Copies of one line (same phases) closer than this are one run. */
export const DUPLICATE_WINDOW_S = 5;

/** The configure runs among timestamped lines, in time order, duplicates folded into the earliest. */
export function configureRuns(lines: ReadonlyArray<{ at: number; text: string }>): ConfigureRun[] {
  const runs: ConfigureRun[] = [];
  const parsed = lines
    .map((line) => ({ line, timings: parseTimingsLine(line.text) }))
    .filter((p): p is { line: { at: number; text: string }; timings: ConfigureTimings } => p.timings !== undefined)
    .sort((a, b) => a.line.at - b.line.at);
  for (const { line, timings } of parsed) {
    const key = timings.phases.map(([n, ms]) => `${n}=${ms}`).join(" ");
    const twin = runs.find((r) => r.phases.map(([n, ms]) => `${n}=${ms}`).join(" ") === key && line.at - r.at < DUPLICATE_WINDOW_S);
    if (!twin) runs.push({ ...timings, at: line.at, text: line.text });
  }
  return runs;
}

export function formatTimings(t: ConfigureTimings): string {
  return `${t.phases.map(([name, ms]) => `${name} ${ms}`).join(", ")} (total ${t.totalMs} ms)`;
}
