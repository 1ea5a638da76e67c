// qcow2 compression benchmark (not a test): the bake's last step converts the build VM's disk
// into a compressed qcow2 (Packer's disk_compression, i.e. `qemu-img convert -c`). This times that
// conversion with zstd (what the template asks for) against qemu-img's default zlib on the same
// uncompressed disk, runs alternating, and prints both sizes.
//
//   npx vite-node bench/qcow2-compression.ts --image IMAGE.qcow2 [--runs N (3)] [--work DIR]
//
// IMAGE is any baked qcow2 (e.g. the e2e suite's .e2e/images/*.qcow2); it is first expanded to an
// uncompressed qcow2 in --work, which is what Packer's conversion starts from.
import { mkdir, rm, stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { compareRuns, describeRatio, median } from "./stats.js";

const { values: args } = parseArgs({ options: { image: { type: "string" }, runs: { type: "string", default: "3" }, work: { type: "string", default: ".cache/bench-qcow2" } } });

function usage(message: string): never {
  process.stderr.write(`bench qcow2-compression: ${message}\n`);
  process.exit(2);
}

const image = args.image ? path.resolve(args.image) : usage("--image IMAGE.qcow2 is required (a baked image)");
const runs = /^[1-9]\d*$/.test(args.runs) ? Number(args.runs) : usage(`--runs must be a positive integer, found ${JSON.stringify(args.runs)}`);
const work = path.resolve(args.work);

async function convert(source: string, target: string, compression: "zlib" | "zstd"): Promise<{ seconds: number; bytes: number }> {
  await rm(target, { force: true });
  const started = performance.now();
  await execa("qemu-img", ["convert", "-O", "qcow2", "-c", "-o", `compression_type=${compression}`, source, target]);
  const seconds = (performance.now() - started) / 1000;
  return { seconds, bytes: (await stat(target)).size };
}

async function main(): Promise<void> {
  await stat(image).catch(() => usage(`--image ${image}: no such file`));
  await mkdir(work, { recursive: true });
  const plain = path.join(work, "uncompressed.qcow2");
  process.stderr.write(`expanding ${image} to ${plain}\n`);
  await execa("qemu-img", ["convert", "-O", "qcow2", image, plain]);
  const zstd: number[] = [];
  const zlib: number[] = [];
  let sizes = { zstd: 0, zlib: 0 };
  for (let i = 0; i < runs; i++) {
    const a = await convert(plain, path.join(work, "zstd.qcow2"), "zstd");
    const b = await convert(plain, path.join(work, "zlib.qcow2"), "zlib");
    zstd.push(a.seconds);
    zlib.push(b.seconds);
    sizes = { zstd: a.bytes, zlib: b.bytes };
    process.stderr.write(`run ${i + 1}/${runs}: zstd ${a.seconds.toFixed(1)} s, zlib ${b.seconds.toFixed(1)} s\n`);
  }
  const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  const plainBytes = (await stat(plain)).size;
  process.stdout.write(
    [
      `qcow2 compression: ${path.basename(image)} (${mib(plainBytes)} uncompressed qcow2), ${runs} alternating runs`,
      `| compression | median | vs zlib | size |`,
      `|---|---|---|---|`,
      `| zstd (the template's) | ${median(zstd).toFixed(1)} s | ${describeRatio(compareRuns(zstd, zlib))} | ${mib(sizes.zstd)} |`,
      `| zlib (qemu-img's default) | ${median(zlib).toFixed(1)} s | 1.00 | ${mib(sizes.zlib)} |`,
      "",
    ].join("\n"),
  );
  await rm(work, { recursive: true, force: true });
}

await main();
