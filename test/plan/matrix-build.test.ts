// `build` over a matrix with the fake packer (target aws: no base image, no VM): one fetch for
// both kinds, one kind failing does not lose the other, the summary lists both and the exit
// code says a build failed; then the failed kind alone is baked, and an unchanged matrix is a
// no-op that starts neither a fetch nor Packer.
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import type { ImagesFile } from "../../pipeline/publish/index.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { FAKE_PACKER_DIR } from "../packer/fake-packer.js";
import { tempDir } from "../helpers/temp-dir.js";

interface ResultJson {
  name: string;
  kind: string;
  target: string;
  action: string;
  result: string;
  seconds: number;
  steps: Record<string, number>;
  logPath: string | null;
  image: { name: string; amis?: Record<string, string> } | null;
  error: { code: string; logPath: string | null } | null;
}

describe("build over a kind matrix (fake packer, target aws)", () => {
  it("publishes what succeeded, reports what failed (exit 1), then bakes only the failed kind, then is a no-op", async () => {
    const dir = await tempDir("matrix-build-");
    const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds: ["knd", "knc"], arches: ["amd64"] });
    const out = path.join(dir, "out");
    const calls = path.join(dir, "packer-calls");
    const build = (env: Record<string, string>, ...extra: string[]) =>
      execa(
        "node",
        [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", "knd,knc", "--arch", "amd64", "--target", "aws", "--region", "eu-west-1", "--allow-untested", "--manifests", fixture.manifestsDir, "--mirror", fixture.mirrorDir, "--cache", path.join(dir, "cache"), "--out", out, ...extra],
        { reject: false, env: { CI: "1", PODPLANE_PACKER: path.join(FAKE_PACKER_DIR, "packer"), FAKE_PACKER_AMI: "eu-west-1:ami-0aaa", FAKE_PACKER_CALLS: calls, ...env } },
      );
    const images = async () => (JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as ImagesFile).images;

    // 1. knc's Packer build fails; knd's is published all the same.
    const first = await build({ FAKE_PACKER_FAIL_KINDS: "knc" }, "--jobs", "2", "--json");
    expect(first.exitCode, first.stderr).toBe(1);
    const doc = JSON.parse(first.stdout) as { ok: boolean; results: ResultJson[] };
    expect(doc.ok).toBe(false);
    expect(doc.results.map((r) => [r.kind, r.action, r.result])).toEqual([
      ["knd", "bake", "built"],
      ["knc", "bake", "failed"],
    ]);
    const [knd, knc] = doc.results;
    expect(knd?.image?.amis).toEqual({ "eu-west-1": "ami-0aaa" });
    expect(knd?.logPath).toBe(path.join(out, "logs", `${knd?.name ?? ""}.log`));
    expect(knc?.error?.code).toBe("EPACKER");
    expect(knc?.logPath).toBe(path.join(out, "logs", `${knc?.name ?? ""}.log`));
    expect(await readFile(knc?.logPath ?? "", "utf8")).toContain("errored");
    // Both kinds shared one fetch (the step time is the same shared figure for both).
    expect(knd?.steps.fetch).toBe(knc?.steps.fetch);
    expect(first.stderr).toContain(`${knc?.name ?? ""} (aws): EPACKER: packer exited with 1`);
    expect((await images()).map((i) => i.name)).toEqual([knd?.name]);
    expect(JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: { "eu-west-1": "ami-0aaa" } } } });
    // An aws image's side files (release notes, SBOMs, provenance) lie in <out>/images/.
    expect((await readdir(out)).sort()).toEqual(["images", "images.auto.tfvars.json", "images.json", "logs", "nstance-images.eu-west-1.json"]);
    const name = knd?.name ?? "";
    expect((await readdir(path.join(out, "images"))).sort()).toEqual([`${name}.cdx.json`, `${name}.intoto.jsonl`, `${name}.release-notes.md`, `${name}.spdx.json`]);

    // 2. The same failure in text mode: a line per image and the summary table with both.
    const text = await build({ FAKE_PACKER_FAIL_KINDS: "knc" });
    expect(text.exitCode).toBe(1);
    const table = text.stdout.split("\n").slice(text.stdout.split("\n").findIndex((l) => l.startsWith("NAME")));
    expect(table[0]).toMatch(/^NAME\s+TARGET\s+RESULT\s+SECONDS\s+LOG$/);
    expect(table[1]).toMatch(new RegExp(`^${knd?.name ?? ""}\\s+aws\\s+skipped\\s+[\\d.]+\\s+-$`));
    expect(table[2]).toMatch(new RegExp(`^${knc?.name ?? ""}\\s+aws\\s+failed\\s+[\\d.]+\\s+${knc?.logPath ?? ""}$`));

    // 3. Fixed: only knc is baked.
    const second = await build({}, "--json");
    expect(second.exitCode, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { results: ResultJson[] }).results.map((r) => [r.kind, r.result])).toEqual([
      ["knd", "skipped"],
      ["knc", "built"],
    ]);
    expect((await images()).map((i) => i.kind).sort()).toEqual(["knc", "knd"]);

    // 4. Unchanged: a no-op. No Packer call, no fetch, nothing rewritten.
    const before = (await stat(path.join(out, "images.json"))).mtimeMs;
    const packerCalls = (await readFile(calls, "utf8")).split("\n").length;
    const started = performance.now();
    const noop = await build({}, "--json");
    const seconds = (performance.now() - started) / 1000;
    expect(noop.exitCode, noop.stderr).toBe(0);
    const noopDoc = JSON.parse(noop.stdout) as { ok: boolean; seconds: number; results: ResultJson[] };
    expect(noopDoc.results.map((r) => [r.kind, r.action, r.result])).toEqual([
      ["knd", "skip", "skipped"],
      ["knc", "skip", "skipped"],
    ]);
    expect(noop.stderr).not.toMatch(/fetch|packer/i);
    expect((await readFile(calls, "utf8")).split("\n").length).toBe(packerCalls);
    expect((await stat(path.join(out, "images.json"))).mtimeMs).toBe(before);
    // Timing is reported, not asserted (a loaded machine must not fail the suite): the plan's own
    // time is in the document; the process time includes Node's start.
    console.log(`matrix no-op: ${noopDoc.seconds.toFixed(3)} s in the command, ${seconds.toFixed(3)} s for the process`);
  }, 120_000);

  it("Ctrl-C stops the running bake (Packer gets SIGINT), starts no other, leaves no work directory, exits 1", async () => {
    const dir = await tempDir("matrix-interrupt-");
    const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds: ["knd", "knc"], arches: ["amd64"] });
    const out = path.join(dir, "out");
    const marker = path.join(dir, "interrupted");
    const child = execa(
      "node",
      [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", "knd,knc", "--target", "aws", "--manifests", fixture.manifestsDir, "--mirror", fixture.mirrorDir, "--cache", path.join(dir, "cache"), "--out", out, "--json"],
      { reject: false, env: { CI: "1", PODPLANE_PACKER: path.join(FAKE_PACKER_DIR, "packer"), FAKE_PACKER_MODE: "hang", FAKE_PACKER_MARKER: marker } },
    );
    await new Promise<void>((resolve) => {
      let text = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("Waiting for SSH")) resolve();
      });
    });
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(1);
    const doc = JSON.parse(result.stdout) as { ok: boolean; results: ResultJson[] };
    expect(doc.results.map((r) => [r.kind, r.result])).toEqual([
      ["knd", "failed"],
      ["knc", "cancelled"],
    ]);
    expect(await readFile(marker, "utf8")).toBe("interrupted\n");
    expect((await readdir(out)).sort()).toEqual(["logs"]);
  }, 120_000);
});
