// Benchmark of the fetch stage (not a test). Run from the repository root:
//
//   npm run build && npx vite-node bench/fetch.ts [--runs N] [--keep]
//
// 1. Generates artifacts as large as the real ones (sizes from manifests/*.json, all four
//    manifests: ~1.2 GB in all, ~610 MB for knc amd64) on a loopback mirror, with fixture lock
//    manifests pinning their digests.
// 2. Cold: `podplane-images fetch --kind knc --arch amd64` into an empty cache, versus the
//    same files fetched by parallel curl followed by `sha256sum -c`/`sha512sum -c` (what a
//    booting VM does today). Target: ours <= baseline.
// 3. Warm: `podplane-images fetch` of all four manifests on a full cache, versus hashing the
//    same (unique) bytes with Node's crypto alone. Target: <= 1.25x, and zero requests.
// Artifacts only (`--no-images`): the container images have no padded stand-ins here yet and the
// baseline hashes artifact files; the images' cost is measured with the bake.
// Prints the figures with both ratio summaries (ratio of medians, median of per-run ratios);
// removes everything it generated unless --keep.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { mirrorRelativePath } from "../pipeline/fetch/mirror.js";
import { serveMirror } from "../pipeline/mirror/index.js";
import { compareRuns, describeRatio } from "./stats.js";

const REPO = path.resolve(import.meta.dirname, "..");
const CLI = path.join(REPO, "bin/podplane-images.js");
const KINDS = ["knc", "knd"] as const;
const ARCHES = ["amd64", "arm64"] as const;
const CONCURRENCY = 4;

interface Dep {
  version: string;
  url: string;
  type: string;
  digest: string;
  size: number;
}
type Lock = { vmconfig: { dependencies: Record<string, Dep> } };

/** A positive integer option; anything else ends the benchmark before it starts. */
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = process.argv[i + 1] ?? "";
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${name} expects a positive integer, found ${JSON.stringify(value)}`);
  return Number(value);
}

/** Writes `size` bytes that differ per file, hashing them as they are written. */
async function generate(file: string, size: number, seed: number, algorithm: "sha256" | "sha512"): Promise<string> {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  const hash = createHash(algorithm);
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, "w");
  try {
    for (let offset = 0, n = 0; offset < size; offset += block.length, n++) {
      block.writeUInt32LE(n, 0);
      block.writeUInt32LE(seed, 4);
      const chunk = block.subarray(0, Math.min(block.length, size - offset));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** Hashes every file with Node's crypto, `parallel` files at a time, 4 MiB reads. */
async function hashAll(files: readonly { file: string; digest: string }[], parallel: number): Promise<void> {
  const queue = [...files];
  const buffer = () => Buffer.allocUnsafe(4 << 20);
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      const chunk = buffer();
      for (let next = queue.shift(); next; next = queue.shift()) {
        const hash = createHash(next.digest.startsWith("sha512:") ? "sha512" : "sha256");
        const handle = await open(next.file, "r");
        try {
          for (let n = (await handle.read(chunk, 0, chunk.length, null)).bytesRead; n > 0; n = (await handle.read(chunk, 0, chunk.length, null)).bytesRead) {
            hash.update(chunk.subarray(0, n));
          }
        } finally {
          await handle.close();
        }
        if (`${next.digest.split(":")[0]}:${hash.digest("hex")}` !== next.digest) throw new Error(`bad digest: ${next.file}`);
      }
    }),
  );
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { seconds: (performance.now() - start) / 1000, value };
}

async function main(): Promise<void> {
  const runs = arg("--runs", 3);
  const keep = process.argv.includes("--keep");
  const work = await mkdtemp(path.join(os.tmpdir(), "pp-bench-fetch-"));
  const mirrorDir = path.join(work, "mirror");
  const manifestsDir = path.join(work, "manifests");
  await mkdir(manifestsDir);
  let requests = 0;
  const server = await serveMirror({ dir: mirrorDir, log: () => requests++ });
  try {
    // 1. artifacts and manifests
    const generated = new Map<string, { file: string; digest: string; size: number }>();
    let seed = 1;
    for (const kind of KINDS) {
      for (const arch of ARCHES) {
        const name = `${kind}.debian-13.${arch}.json`;
        const lock = JSON.parse(await readFile(path.join(REPO, "manifests", name), "utf8")) as Lock;
        for (const [dep, entry] of Object.entries(lock.vmconfig.dependencies)) {
          if (entry.url === "") continue;
          if (!generated.has(entry.url)) {
            const algorithm = entry.digest.startsWith("sha512:") ? "sha512" : "sha256";
            const size = entry.size || 12_000_000; // kube2iam is unpinned upstream: give it a plausible size
            const file = path.join(mirrorDir, mirrorRelativePath(entry.url));
            const hex = await generate(file, size, seed++, algorithm);
            generated.set(entry.url, { file, digest: `${algorithm}:${hex}`, size });
          }
          const g = generated.get(entry.url);
          if (!g) throw new Error(dep);
          entry.digest = g.digest;
          entry.size = g.size;
        }
        await writeFile(path.join(manifestsDir, name), `${JSON.stringify(lock, null, 2)}\n`);
      }
    }
    const kncAmd64 = JSON.parse(await readFile(path.join(manifestsDir, "knc.debian-13.amd64.json"), "utf8")) as Lock;
    const coldSet = Object.values(kncAmd64.vmconfig.dependencies).filter((d) => d.url !== "");
    const coldBytes = coldSet.reduce((sum, d) => sum + d.size, 0);
    const allBytes = [...generated.values()].reduce((sum, g) => sum + g.size, 0);
    console.log(`generated ${generated.size} artifacts, ${(allBytes / 1e6).toFixed(0)} MB; knc amd64: ${coldSet.length} artifacts, ${(coldBytes / 1e6).toFixed(0)} MB; mirror ${server.url}`);

    // 2. cold fetch vs parallel curl + sha*sum -c
    const ours: number[] = [];
    const curl: number[] = [];
    for (let run = 0; run < runs; run++) {
      const cache = path.join(work, "cache-cold");
      await rm(cache, { recursive: true, force: true });
      const fetched = await timed(() =>
        execa("node", [CLI, "fetch", "--no-images", "--kind", "knc", "--arch", "amd64", "--manifests", manifestsDir, "--mirror", server.url, "--cache", cache, "--concurrency", String(CONCURRENCY), "--json"], {
          env: { CI: "1" },
        }),
      );
      ours.push(fetched.seconds);

      const out = path.join(work, "curl");
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
      const sums: Record<"sha256" | "sha512", string[]> = { sha256: [], sha512: [] };
      const curlArgs = ["--silent", "--show-error", "--fail", "--parallel", "--parallel-max", String(CONCURRENCY)];
      for (const d of coldSet) {
        const name = path.basename(new URL(d.url).pathname);
        curlArgs.push("-o", path.join(out, name), `${server.url}/${mirrorRelativePath(d.url)}`);
        const [algorithm, hex] = d.digest.split(":") as ["sha256" | "sha512", string];
        sums[algorithm].push(`${hex}  ${name}`);
      }
      await writeFile(path.join(out, "SHA256SUMS"), `${sums.sha256.join("\n")}\n`);
      await writeFile(path.join(out, "SHA512SUMS"), `${sums.sha512.join("\n")}\n`);
      const baseline = await timed(async () => {
        await execa("curl", curlArgs);
        await execa("sha256sum", ["--quiet", "-c", "SHA256SUMS"], { cwd: out });
        await execa("sha512sum", ["--quiet", "-c", "SHA512SUMS"], { cwd: out });
      });
      curl.push(baseline.seconds);
      await rm(out, { recursive: true, force: true });
      console.log(`cold run ${run + 1}: ours ${fetched.seconds.toFixed(2)} s, curl + sha*sum -c ${baseline.seconds.toFixed(2)} s`);
    }

    // 3. warm fetch of all four manifests vs Node crypto hashing the same bytes
    const cache = path.join(work, "cache-cold");
    await execa("node", [CLI, "fetch", "--no-images", "--manifests", manifestsDir, "--mirror", server.url, "--cache", cache], { env: { CI: "1" } });
    const warm: number[] = [];
    const hashing: number[] = [];
    const inProcess: number[] = [];
    const fetchWarm = async () => {
      requests = 0;
      const fetched = await timed(() => execa("node", [CLI, "fetch", "--no-images", "--manifests", manifestsDir, "--mirror", server.url, "--cache", cache, "--json"], { env: { CI: "1" } }));
      const doc = JSON.parse(fetched.value.stdout) as { seconds: number; artifacts: { cacheHit: boolean; path: string; digest: string }[] };
      if (!doc.artifacts.every((a) => a.cacheHit) || requests !== 0) throw new Error(`warm fetch made ${requests} requests`);
      return { seconds: fetched.seconds, inProcess: doc.seconds, entries: doc.artifacts.map((a) => ({ file: a.path, digest: a.digest })) };
    };
    // The strongest plain-Node baseline: the same cache files, 4 at a time, large sequential
    // reads straight into crypto's hash (no verification logic, no process start, no manifests).
    const entries = (await fetchWarm()).entries;
    if (entries.length !== generated.size) throw new Error(`expected ${generated.size} unique artifacts, found ${entries.length}`);
    for (let run = 0; run < runs; run++) {
      // alternate which goes first, so neither always finds the other's page-cache state
      const first = run % 2 === 0 ? await fetchWarm() : undefined;
      const hashed = await timed(() => hashAll(entries, CONCURRENCY));
      const fetched = first ?? (await fetchWarm());
      warm.push(fetched.seconds);
      inProcess.push(fetched.inProcess);
      hashing.push(hashed.seconds);
      console.log(
        `warm run ${run + 1}: ours ${fetched.seconds.toFixed(2)} s (of which fetchArtifacts ${inProcess.at(-1)?.toFixed(2)} s; 0 requests), node crypto alone ${hashed.seconds.toFixed(2)} s`,
      );
    }

    // The machine is shared: each run pairs ours with its baseline taken right after it. Both
    // summaries are printed: the ratio of the medians, and the median of the per-run ratios
    // (steadier under load swings); the target is read against the ratio of the medians.
    const cold = compareRuns(ours, curl);
    const hot = compareRuns(warm, hashing);
    const inProc = compareRuns(inProcess, hashing);
    console.log("");
    console.log(
      `cold knc amd64 (${(coldBytes / 1e6).toFixed(0)} MB, ${coldSet.length} files, --concurrency ${CONCURRENCY}): fetch ${cold.medianNumerator.toFixed(2)} s vs curl --parallel-max ${CONCURRENCY} + sha*sum -c ${cold.medianDenominator.toFixed(2)} s -> ratio ${describeRatio(cold)} (target <= 1.00)`,
    );
    console.log(
      `warm, all four manifests (${generated.size} files, ${(allBytes / 1e6).toFixed(0)} MB unique, ${CONCURRENCY} at a time): fetch ${hot.medianNumerator.toFixed(2)} s vs node crypto ${hot.medianDenominator.toFixed(2)} s -> ratio ${describeRatio(hot)} (target <= 1.25), 0 requests`,
    );
    console.log(`warm, measured inside the process (fetchArtifacts): ${inProc.medianNumerator.toFixed(2)} s -> ratio ${describeRatio(inProc)}`);
    console.log(`medians of ${runs} runs; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  } finally {
    await server.close();
    if (keep) console.log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
