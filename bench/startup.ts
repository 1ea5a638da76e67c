// Start-up benchmark (not a test): how long `podplane-images --help` takes, against a baseline
// checkout of the CLI and against a bare `node -e 0` (the floor no CLI can go under). Runs
// alternate (ours, baseline, node) so load swings hit all three.
//
//   npm run build && npx vite-node bench/startup.ts --baseline DIR [--runs N (15)]
//
// DIR is another checkout with its own `npm run build` done (e.g. `git worktree add DIR <rev>`,
// then `npx tsc -p tsconfig.build.json` there), whose bin/podplane-images.js is the baseline.
import { performance } from "node:perf_hooks";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { compareRuns, describeRatio, median } from "./stats.js";

const REPO = path.resolve(import.meta.dirname, "..");

const { values: args } = parseArgs({ options: { baseline: { type: "string" }, runs: { type: "string", default: "15" } } });

function usage(message: string): never {
  process.stderr.write(`bench startup: ${message}\n`);
  process.exit(2);
}

const baseline = args.baseline ? path.resolve(args.baseline) : usage("--baseline DIR is required (a built checkout to compare with)");
const runs = /^[1-9]\d*$/.test(args.runs) ? Number(args.runs) : usage(`--runs must be a positive integer, found ${JSON.stringify(args.runs)}`);

/** Wall seconds of one process; a failed run fails the benchmark. */
async function timed(argv: string[]): Promise<number> {
  const started = performance.now();
  const result = await execa("node", argv, { reject: false, env: { CI: "1" } });
  if (result.exitCode !== 0) throw new Error(`node ${argv.join(" ")} exited ${String(result.exitCode)}: ${result.stderr.slice(0, 300)}`);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await timed([path.join(REPO, "bin/podplane-images.js"), "--help"]));
    theirs.push(await timed([path.join(baseline, "bin/podplane-images.js"), "--help"]));
    floor.push(await timed(["-e", "0"]));
  }
  const head = await execa("git", ["-C", REPO, "rev-parse", "--short", "HEAD"], { reject: false });
  const base = await execa("git", ["-C", baseline, "rev-parse", "--short", "HEAD"], { reject: false });
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  process.stdout.write(
    [
      `startup: --help, ${runs} alternating runs; ours ${head.stdout.trim()} vs baseline ${base.stdout.trim()} (${baseline})`,
      `| measurement | median | vs baseline | vs node -e 0 |`,
      `|---|---|---|---|`,
      `| ours \`--help\` | ${ms(median(ours))} | ${describeRatio(compareRuns(ours, theirs))} | ${describeRatio(compareRuns(ours, floor))} |`,
      `| baseline \`--help\` | ${ms(median(theirs))} | 1.00 | ${describeRatio(compareRuns(theirs, floor))} |`,
      `| \`node -e 0\` | ${ms(median(floor))} | | 1.00 |`,
      "",
    ].join("\n"),
  );
}

await main();
