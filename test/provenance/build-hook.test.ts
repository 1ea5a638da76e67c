// The build hook through the plan runner's publish path (in-process, fake packer): a qemu and an
// aws image of knd baked with --signing-key each get a signed statement that names them, their
// records say so, and verify-image passes on both against the manifests they were built from,
// then fails on a flipped byte of the qcow2. Without a key the statement is written unsigned.
import { open, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { ImageTestReport, TestImageOptions } from "../../pipeline/boot/index.js";
import { runBuild, type BuildFlags } from "../../pipeline/commands/build.js";
import { cachedDebootstrapBase } from "../../pipeline/image/base-choice.js";
import { PACKER_DIR } from "../../pipeline/packer/template-digest.js";
import { parseEnvelope } from "../../pipeline/provenance/dsse.js";
import type { Statement } from "../../pipeline/provenance/statement.js";
import type { ImagesFile } from "../../pipeline/publish/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { FAKE_PACKER_DIR } from "../packer/fake-packer.js";
import { writeKeyPair } from "./fixtures.js";
import { statementErrors } from "./schema.js";
import { fakeBuildDirs } from "../helpers/fake-build.js";

resetCliStateAfterEach();

describe("build writes each image's provenance (fake packer)", () => {
  it("signed statements for a qemu and an aws image; verify-image passes on both and fails on a flipped byte", async () => {
    // The fixture mirror, and a debootstrap base already in the cache as buildDebootstrapBase leaves it.
    const { dir, fixture, cache, out } = await fakeBuildDirs("provenance-build-", ["knd"]);
    const { source } = await cachedDebootstrapBase(cache, "amd64");
    vi.stubEnv("CI", "1");
    vi.stubEnv("PODPLANE_ACCEL", "tcg");
    vi.stubEnv("PODPLANE_PACKER", path.join(FAKE_PACKER_DIR, "packer"));
    vi.stubEnv("FAKE_PACKER_AMI", "eu-west-1:ami-0aaa,us-east-1:ami-0bbb");
    vi.stubEnv("PODPLANE_IMAGES_SIGNING_KEY", "");
    const keys = await writeKeyPair(path.join(dir, "keys"), "ecdsa-p256");
    const testImage = (options: TestImageOptions): Promise<ImageTestReport> => Promise.resolve({ image: options.image, kind: options.kind, ok: true, checks: [{ name: "services-active", ok: true, evidence: "ok" }], logPath: "", seconds: 1 });
    const flags: BuildFlags = { kind: ["knd"], arch: ["amd64"], target: ["qemu", "aws"], base: "debootstrap", manifests: fixture.manifestsDir, mirror: fixture.mirrorDir, cache, out, jobs: 1, json: true, region: "eu-west-1", amiRegions: ["us-east-1"], allowUntested: true, signingKey: keys.privateKey };
    const summary = await runBuild(flags, new AbortController().signal, { testImage });
    expect(summary.results.map((r) => [r.target, r.result])).toEqual([
      ["aws", "built"],
      ["qemu", "built"],
    ]);

    const doc = JSON.parse(await readFile(path.join(out, "images.json"), "utf8")) as ImagesFile;
    const packerFiles = (await readdir(PACKER_DIR, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => `packer/${path.relative(PACKER_DIR, path.join(e.parentPath, e.name))}`)
      .sort();
    expect(packerFiles).toContain("packer/podplane.pkr.hcl.hbs");
    for (const record of doc.images) {
      expect(record.provenance).toEqual({ path: path.join(out, "images", `${record.name}.intoto.jsonl`), signed: true, keyid: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
      const { envelope } = parseEnvelope((await readFile(record.provenance?.path ?? "", "utf8")).trim());
      const statement = JSON.parse(Buffer.from(envelope?.payload ?? "", "base64").toString()) as Statement;
      expect(statementErrors(statement)).toEqual([]);
      const params = statement.predicate.buildDefinition.externalParameters;
      const deps = statement.predicate.buildDefinition.resolvedDependencies;
      expect(statement.predicate.buildDefinition.internalParameters).toMatchObject({ inputHash: record.inputHash });
      expect(statement.predicate.runDetails.builder.version).toEqual({ "podplane-images": "0.1.0", packer: "1.6.6" });
      // Every file under packer/ is listed, with the aggregate digest the input hash used.
      expect(deps.filter((d) => d.annotations?.role === "packer-file").map((d) => d.name)).toEqual(packerFiles);
      expect(deps.find((d) => d.name === "vmconfig.tar.gz")?.digest).toEqual({ sha256: record.vmconfigDigest.slice(7) });
      if (record.target === "qemu") {
        expect(params).toEqual({ kind: "knd", arch: "amd64", os: "debian-13", target: "qemu", base: "debootstrap" });
        expect(deps.find((d) => d.name === "base-image")).toMatchObject({ uri: source, digest: { sha256: record.baseImage.digest.slice(7) } });
        expect(statement.predicate.runDetails.byproducts).toEqual([expect.objectContaining({ name: "podplane-manifest", uri: `file://${record.podplaneManifest ?? ""}` })]);
      } else {
        expect(params).toEqual({ kind: "knd", arch: "amd64", os: "debian-13", target: "aws", aws: { region: "eu-west-1", amiRegions: ["us-east-1"] } });
        expect(statement.predicate.runDetails.byproducts.map((b) => b.name)).toEqual(["ami:eu-west-1/ami-0aaa", "ami:us-east-1/ami-0bbb"]);
      }
      const verified = await runCli("verify-image", record.name, "--key", keys.publicKey, "--out", out, "--manifests", fixture.manifestsDir);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    }

    const qemu = doc.images.find((r) => r.target === "qemu");
    const handle = await open(qemu?.qemu?.path ?? "", "r+");
    await handle.write(Buffer.from([0xff]), 0, 1, 4096);
    await handle.close();
    const flipped = await runCli("verify-image", qemu?.name ?? "", "--key", keys.publicKey, "--out", out, "--manifests", fixture.manifestsDir);
    expect(flipped.code).toBe(1);
    expect(flipped.stdout).toMatch(/!! subject: .*\.qcow2: the statement has sha256:[0-9a-f]{64}, the file .* has sha256:[0-9a-f]{64}/);

    // A rebuild without a key: the statement is there, unsigned, and the record says so.
    const again = await runBuild({ ...flags, target: ["aws"], force: true, signingKey: undefined }, new AbortController().signal, { testImage });
    expect(again.results[0]?.record?.provenance).toEqual({ path: path.join(out, "images", `${again.results[0]?.name ?? ""}.intoto.jsonl`), signed: false });
  }, 120_000);

  it("a bad signing key is refused before any work (exit 2)", async () => {
    const dir = await tempDir("provenance-badkey-");
    await writeFile(path.join(dir, "bad.key"), "not a key");
    const r = await runCli("build", "--kind", "knd", "--arch", "amd64", "--target", "aws", "--out", path.join(dir, "out"), "--signing-key", path.join(dir, "bad.key"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`EKEY: --signing-key ${path.join(dir, "bad.key")}: not a PEM private key`);
  });
});
