// The build command end to end with the fake packer (target aws: no base image, no VM):
// fetch from the stand-in mirror, stage, Packer, publish; and what a failure leaves behind.
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { FAKE_PACKER_DIR, tempDir } from "./fake-packer.js";

async function runBuild(mode: string) {
  const dir = await tempDir("build-cli-");
  const fixture = await generateStandinMirror({ dir: path.join(dir, "fixture"), kinds: ["knd"], arches: ["amd64"] });
  const out = path.join(dir, "out");
  const result = await execa(
    "node",
    [path.join(PROJECT_ROOT, "bin", "podplane-images.js"), "build", "--kind", "knd", "--arch", "amd64", "--target", "aws", "--region", "eu-west-1", "--ami-regions", "us-east-1", "--manifests", fixture.manifestsDir, "--mirror", fixture.mirrorDir, "--cache", path.join(dir, "cache"), "--out", out, "--json"],
    { reject: false, env: { CI: "1", PODPLANE_PACKER: path.join(FAKE_PACKER_DIR, "packer"), FAKE_PACKER_MODE: mode, FAKE_PACKER_AMI: "eu-west-1:ami-0aaa,us-east-1:ami-0bbb" } },
  );
  return { out, result };
}

describe("build --target aws with the fake packer", () => {
  it("publishes the AMI of every region to images.json and the tfvars file", async () => {
    const { out, result } = await runBuild("ok");
    expect(result.exitCode, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as { skipped: boolean; image: { name: string; amis: Record<string, string> } };
    expect(doc).toMatchObject({ skipped: false, image: { amis: { "eu-west-1": "ami-0aaa", "us-east-1": "ami-0bbb" } } });
    const images = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as { images: { name: string; target: string }[] };
    expect(images.images).toEqual([expect.objectContaining({ name: doc.image.name, target: "aws" })]);
    expect(JSON.parse(await readFile(path.join(out, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: { "eu-west-1": "ami-0aaa", "us-east-1": "ami-0bbb" } } } });
    await expect(stat(path.join(out, ".work"))).rejects.toThrow(/ENOENT/);
  });

  it("a Packer failure exits 1 with Packer's last lines and the log path, and records nothing", async () => {
    const { out, result } = await runBuild("fail");
    expect(result.exitCode).toBe(1);
    const failure = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; lines: string[] } };
    expect(failure).toMatchObject({ ok: false, error: { code: "EPACKER" } });
    expect(result.stderr).toMatch(/EPACKER: packer exited with 1; last lines:\n(.*\n)* {2}Build 'podplane.qemu.podplane' errored/);
    const logLine = /log: (\S+)/.exec(result.stderr)?.[1] ?? "";
    expect(logLine).toMatch(new RegExp(`^${out}/logs/podplane-knd-debian-13-amd64-[0-9a-f]{12}\\.log$`));
    expect(await readFile(logLine, "utf8")).toContain("-only=podplane.amazon-ebs.podplane");
    expect((await readdir(out)).sort()).toEqual(["logs"]);
  });
});
