// Bake benchmark: wall time of each step (base, fetch, packer, inspect) for knd and knc under
// TCG, cold (empty cache: the base is built, artifacts downloaded) and warm (base and cache
// reused, Packer runs again); the no-op rebuild; image size against base + artifacts.
// Stand-ins are padded to the real upstream sizes so the size and upload figures mean something.
//
//   npx vite-node bench/bake.ts [--dir DIR] [--pad BYTES] [--kinds knd,knc] [--skip-cold]
//
// Writes DIR/bake-results.json and prints Markdown tables for BENCHMARKS.md: the steps, where
// each bake's Packer time went (bench/bake-phases.ts, from the build's Packer log), the sizes.
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa, type ResultPromise } from "execa";
import { PROJECT_ROOT } from "../pipeline/cli/options.js";
import { formatBytes } from "../pipeline/cli/output.js";
import type { ImageRecord } from "../pipeline/publish/index.js";
import { generateStandinMirror } from "../test/fixtures/standins/index.js";
import { bakePhases, type BakePhase } from "./bake-phases.js";

const CLI = path.join(PROJECT_ROOT, "bin", "podplane-images.js");
const { values } = parseArgs({
  options: {
    dir: { type: "string", default: path.join(PROJECT_ROOT, ".e2e", "bench-bake") },
    pad: { type: "string", default: "530000000" },
    kinds: { type: "string", default: "knd,knc" },
    "skip-cold": { type: "boolean", default: false },
  },
});
const dir = path.resolve(values.dir);
const kinds = values.kinds.split(",");

interface Row {
  kind: string;
  run: string;
  base: number;
  fetch: number;
  packer: number;
  inspect: number;
  total: number;
  imageBytes: number;
  /** Where the Packer time went (baked rows only). */
  phases?: BakePhase[];
  /** Host load average (1 min) when the build started and when it ended. */
  load?: [number, number];
}

async function timedCli(args: string[]) {
  const started = performance.now();
  const result = await execa("node", [CLI, ...args], { reject: false, env: { CI: "1" }, stdin: "ignore" });
  const seconds = (performance.now() - started) / 1000;
  if (result.exitCode !== 0) throw new Error(`${args.join(" ")} failed (${String(result.exitCode)}):\n${String(result.stderr).split("\n").slice(-20).join("\n")}`);
  return { seconds, stdout: String(result.stdout) };
}

interface BuildResult {
  skipped: boolean;
  steps: Record<string, number>;
  image: ImageRecord;
}

/** The one image a single-kind `build --json` reports (its `results` hold one entry per image). */
function buildResult(stdout: string): BuildResult {
  const [result] = (JSON.parse(stdout) as { results: Partial<BuildResult>[] }).results;
  if (!result?.image) throw new Error(`build --json reported no image: ${stdout.slice(0, 300)}`);
  return { skipped: Boolean(result.skipped), steps: result.steps ?? {}, image: result.image };
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds: kinds as ("knd" | "knc")[], arches: ["amd64"], padBytes: Number(values.pad) });
  const server: ResultPromise = execa("node", [CLI, "mirror", "serve", fixture.mirrorDir, "--port", "0", "--json"], { stdin: "ignore", reject: false, buffer: false });
  const mirror = await new Promise<string>((resolve) => {
    let text = "";
    server.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(text);
      if (match) resolve(match[0]);
    });
  });
  const cache = path.join(dir, "cache");
  const rows: Row[] = [];
  const artifactBytes: Record<string, number> = {};
  try {
    const runs: ("cold" | "warm")[] = values["skip-cold"] ? ["warm"] : ["cold", "warm"];
    for (const run of runs) {
      if (run === "cold") await rm(cache, { recursive: true, force: true });
      for (const [i, kind] of kinds.entries()) {
        const out = path.join(dir, `out-${run}`);
        if (i === 0) await rm(out, { recursive: true, force: true });
        const args = ["build", "--kind", kind, "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--manifests", fixture.manifestsDir, "--mirror", mirror, "--cache", cache, "--out", out, "--skip-test", "--json"];
        const loadBefore = os.loadavg()[0] ?? 0;
        const build = await timedCli(args);
        const load: [number, number] = [loadBefore, os.loadavg()[0] ?? 0];
        const doc = buildResult(build.stdout);
        const phases = bakePhases(await readFile(path.join(out, "logs", `${doc.image.name}.log`), "utf8"));
        const inspect = await timedCli(["inspect", doc.image.qemu?.path ?? "", "--json"]);
        rows.push({ kind, run, base: doc.steps.base ?? 0, fetch: doc.steps.fetch ?? 0, packer: doc.steps.packer ?? 0, inspect: inspect.seconds, total: build.seconds, imageBytes: doc.image.size, phases, load });
        if (run === "warm") {
          const noop = await timedCli(args);
          // In a shared working tree vmconfig can change between the two builds: then it is no no-op.
          const skipped = buildResult(noop.stdout).skipped;
          rows.push({ kind, run: skipped ? "no-op" : "no-op (inputs changed: rebuilt)", base: 0, fetch: 0, packer: 0, inspect: 0, total: noop.seconds, imageBytes: doc.image.size });
          const stage = JSON.parse((await execa("node", [CLI, "fetch", "--no-images", "--kind", kind, "--arch", "amd64", "--manifests", fixture.manifestsDir, "--cache", cache, "--json"], { env: { CI: "1" } })).stdout) as { artifacts: { size: number }[] };
          artifactBytes[kind] = stage.artifacts.reduce((s, a) => s + a.size, 0);
        }
      }
    }
  } finally {
    server.kill("SIGINT");
    await server;
  }
  const baseQcow2 = (await readdir(path.join(cache, "base"))).find((f) => f.endsWith(".qcow2"));
  const baseBytes = baseQcow2 ? (await stat(path.join(cache, "base", baseQcow2))).size : 0;
  const sizes = kinds.map((kind) => {
    const image = rows.find((r) => r.kind === kind && r.run === "warm")?.imageBytes ?? 0;
    const expected = baseBytes + (artifactBytes[kind] ?? 0);
    return { kind, image, base: baseBytes, artifacts: artifactBytes[kind] ?? 0, overheadPercent: expected ? Math.round(((image - expected) / expected) * 1000) / 10 : 0 };
  });
  await writeFile(path.join(dir, "bake-results.json"), `${JSON.stringify({ date: new Date().toISOString(), pad: Number(values.pad), rows, sizes }, null, 2)}\n`);
  const f = (n: number) => (n === 0 ? "–" : `${n.toFixed(1)} s`);
  console.log("| kind | run | base | fetch | packer | inspect | build wall |\n|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.kind} | ${r.run} | ${f(r.base)} | ${f(r.fetch)} | ${f(r.packer)} | ${f(r.inspect)} | ${f(r.total)} |`);
  const baked = rows.filter((r) => r.phases);
  if (baked.length > 0) {
    console.log(`\n| Packer phase (s) | ${baked.map((r) => `${r.kind} ${r.run}`).join(" | ")} |\n|---|${baked.map(() => "---:").join("|")}|`);
    const names = [...new Set(baked.flatMap((r) => (r.phases ?? []).map((p) => p.name)))];
    for (const name of names) console.log(`| ${name} | ${baked.map((r) => String(r.phases?.find((p) => p.name === name)?.seconds ?? "–")).join(" | ")} |`);
    console.log(`| host load (1 min) at start → end | ${baked.map((r) => (r.load ? `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}` : "–")).join(" | ")} |`);
  }
  console.log("\n| kind | qcow2 | base qcow2 | artifacts | overhead vs base + artifacts |\n|---|---|---|---|---|");
  for (const s of sizes) console.log(`| ${s.kind} | ${formatBytes(s.image)} | ${formatBytes(s.base)} | ${formatBytes(s.artifacts)} | ${s.overheadPercent}% |`);
}

await main();
