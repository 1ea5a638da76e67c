import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { packerBuild, packerValidate, type Progress } from "../../pipeline/packer/index.js";
import { fakePackerEnv, tempDir } from "./fake-packer.js";

async function setup(mode: string, extra: Record<string, string> = {}) {
  const dir = await tempDir("packer-run-");
  await writeFile(path.join(dir, "podplane.pkr.hcl"), "");
  await writeFile(
    path.join(dir, "podplane.pkrvars.json"),
    JSON.stringify({ image_name: "podplane-knd-debian-13-amd64-abc", manifest_path: path.join(dir, "packer-manifest.json"), output_dir: path.join(dir, "output") }),
  );
  const progress: Progress[] = [];
  const logPath = path.join(dir, "bake.log");
  return { dir, logPath, progress, options: { dir, logPath, env: fakePackerEnv(mode, extra), onProgress: (p: Progress) => progress.push(p) } };
}

async function failure(promise: Promise<unknown>): Promise<WorkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkError);
  return error as WorkError;
}

describe("running Packer", () => {
  it("streams machine-readable events as progress and keeps the full log", async () => {
    const { options, progress, logPath, dir } = await setup("ok");
    await packerValidate("qemu", options);
    await packerBuild("qemu", options);
    expect(progress.map((p) => p.kind)).toEqual(["say", "message", "artifact"]);
    expect(progress[1]?.text).toBe("podplane.qemu.podplane: installed, 12 artifacts");
    const log = await readFile(logPath, "utf8");
    expect(log).toContain("$ packer build -machine-readable -color=false -only=podplane.qemu.podplane -var-file=podplane.pkrvars.json podplane.pkr.hcl");
    expect(log).toContain(",ui,say,==> podplane.qemu.podplane: Starting the build");
    expect(JSON.parse(await readFile(path.join(dir, "packer-manifest.json"), "utf8"))).toMatchObject({ last_run_uuid: "run-2" });
  });

  it("a non-zero exit is EPACKER with the last meaningful lines and the log path", async () => {
    const { options, logPath } = await setup("fail");
    const error = await failure(packerBuild("qemu", options));
    expect(error.code).toBe("EPACKER");
    expect(error.logPath).toBe(logPath);
    expect(error.message).toMatch(/packer exited with 1; last lines:\n {2}==> podplane.qemu.podplane: Provisioning with shell script\n {2}Build 'podplane.qemu.podplane' errored: Script exited/);
    expect(error.message).not.toMatch(/\d+,,ui,/);
  });

  it("a killed Packer is reported as killed", async () => {
    const { options } = await setup("killed");
    const error = await failure(packerBuild("qemu", options));
    expect(error.code).toBe("EPACKER");
    expect(error.message).toMatch(/packer was killed by SIGKILL/);
    expect(error.data).toMatchObject({ signal: "SIGKILL" });
  });

  it("garbage output still ends in a readable error", async () => {
    const { options } = await setup("garbage");
    const error = await failure(packerBuild("qemu", options));
    expect(error.message).toMatch(/exited with 3; last lines:\n {2}panic: runtime error: invalid memory address\n {2}goroutine 1 \[running\]:/);
  });

  it("a failing validate stops before the build", async () => {
    const { options, logPath } = await setup("invalid");
    const error = await failure(packerValidate("aws", options));
    expect(error.message).toMatch(/Unsupported argument/);
    expect(await readFile(logPath, "utf8")).toContain("-only=podplane.amazon-ebs.podplane");
  });

  it("cancelling sends Packer SIGINT so it can clean up, then reports ECANCELED", async () => {
    const { options, dir } = await setup("hang", {});
    const marker = path.join(dir, "interrupted");
    const controller = new AbortController();
    const started = Date.now();
    const run = packerBuild("qemu", { ...options, env: { ...options.env, FAKE_PACKER_MARKER: marker }, signal: controller.signal });
    setTimeout(() => controller.abort(), 500);
    const error = await failure(run);
    expect(error.code).toBe("ECANCELED");
    expect(await readFile(marker, "utf8")).toBe("interrupted\n");
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
