// End-to-end bake: stand-in artifacts served on 127.0.0.1, the stand-in pause image from a real
// distribution registry on 127.0.0.1 (Debian's docker-registry, pushed with skopeo, reached with
// --registry-mirror), a Debian 13 base built from the archive, real Packer + QEMU (TCG): both
// kinds in one `build` call, then both boot-tested side by side (knc by build's own boot step
// through GRUB, provider local; knd by direct kernel boot from its images.json record through
// testImage, provider aws), then `inspect` of each image and a no-op second call. Names the baked
// images in baked-images.json for the opt-in direct boot of knc (direct-boot.test.ts).
import { generateKeyPairSync } from "node:crypto";
import { mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBootRecord, prepareDirectBoot } from "../../pipeline/boot/direct-boot.js";
import { CHECK_NAMES, testImage } from "../../pipeline/boot/index.js";
import { contentPath } from "../../pipeline/cache/index.js";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { safeRemove } from "../../pipeline/fs/safe-remove.js";
import type { InspectReport } from "../../pipeline/inspect/index.js";
import { digestToIntegrity } from "../../pipeline/manifest/digest.js";
import { loadManifest, loadManifests } from "../../pipeline/manifest/load.js";
import { parseImageReference } from "../../pipeline/oci/index.js";
import type { ImageRecord, ImagesFile } from "../../pipeline/publish/index.js";
import { podplaneManifestPath } from "../../pipeline/publish/podplane-manifest.js";
import { generateStandinMirror } from "../fixtures/standins/index.js";
import { serveMirrorWithCli, type MirrorServer } from "./mirror-server.js";
import type { StandinImage } from "../fixtures/standins/pause-image.js";
import { startRealRegistry, type RealRegistry } from "../oci/real-registry.js";
import { statementErrors } from "../provenance/schema.js";
import { cycloneDxValidator, spdxValidator } from "../sbom/schemas.js";

const E2E_DIR = path.resolve(process.env.PODPLANE_E2E_DIR ?? path.join(PROJECT_ROOT, ".e2e"));
const CACHE_DIR = process.env.PODPLANE_IMAGES_CACHE ?? path.join(E2E_DIR, "cache");
const CLI = path.join(PROJECT_ROOT, "bin", "podplane-images.js");
const KINDS = ["knd", "knc"] as const;
const BAKED_IMAGES_FILE = path.join(E2E_DIR, "baked-images.json");
/** A release key made for this run: build signs each image's provenance with it, verify-image checks it. */
const SIGNING_KEY = path.join(E2E_DIR, "keys", "release.key");
const SIGNING_PUB = path.join(E2E_DIR, "keys", "release.pub");

/** Where install.sh puts each artifact (brief: "Runtime paths"); debs are checked through dpkg. */
const EXPECTED_PATHS: Record<string, string[]> = {
  kubelet: ["/usr/local/bin/kubelet"],
  "kube-apiserver": ["/usr/local/bin/kube-apiserver"],
  "kube-scheduler": ["/usr/local/bin/kube-scheduler"],
  "kube-controller-manager": ["/usr/local/bin/kube-controller-manager"],
  kubectl: ["/usr/local/bin/kubectl"],
  runc: ["/usr/local/sbin/runc"],
  containerd: ["/usr/local/bin/containerd", "/usr/local/bin/containerd-shim-runc-v2", "/usr/local/bin/ctr"],
  "cni-plugins": ["/opt/cni/bin/bridge", "/opt/cni/bin/host-local", "/opt/cni/bin/loopback", "/opt/cni/bin/portmap"],
  crictl: ["/usr/local/bin/crictl"],
  zot: ["/usr/local/bin/zot"],
  netsy: ["/usr/local/bin/netsy"],
  "nstance-agent": ["/usr/local/bin/nstance-agent"],
  kube2iam: ["/usr/local/bin/kube2iam"],
  "fluent-bit": ["/opt/fluent-bit/bin/fluent-bit"],
};
const DEBS = ["fluent-bit", "libpq5", "uidmap", "libsubid5"];
const ALWAYS: Record<(typeof KINDS)[number], string[]> = {
  knd: ["nstance-agent", "fluent-bit", "containerd", "kubelet"],
  knc: ["nstance-agent", "fluent-bit", "containerd", "kubelet", "netsy", "kube-apiserver", "kube-scheduler", "kube-controller-manager"],
};

let server: MirrorServer | undefined;
let mirrorUrl = "";
let manifestsDir = "";
let registry: RealRegistry | undefined;
/** `--registry-mirror REGISTRY=URL` for each registry the stand-in images name (registry.k8s.io). */
let registryMirrorArgs: string[] = [];
let images: StandinImage[] = [];
const built = new Map<string, { record: ImageRecord; seconds: number }>();

function cli(args: string[], timeout = 30 * 60_000) {
  return execa("node", [CLI, ...args], { reject: false, timeout, env: { CI: "1" }, stdin: "ignore" });
}

/**
 * One `build` call bakes both kinds (the matrix: one plan, one fetch, then each bake) with
 * --skip-test. Then `build --kind knc` finds knc baked but never booted and runs build's own boot
 * step on it (provider local) while knd boots through testImage with provider aws. So each image
 * is baked once and booted once, and each boot flow runs once.
 */
function matrixArgs(): string[] {
  return ["build", "--kind", KINDS.join(","), "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--manifests", manifestsDir, "--mirror", mirrorUrl, ...registryMirrorArgs, "--cache", CACHE_DIR, "--out", E2E_DIR, "--skip-test", "--signing-key", SIGNING_KEY, "--json"];
}

function bootTestArgs(kind: string): string[] {
  return ["build", "--kind", kind, "--arch", "amd64", "--target", "qemu", "--base", "debootstrap", "--manifests", manifestsDir, "--mirror", mirrorUrl, ...registryMirrorArgs, "--cache", CACHE_DIR, "--out", E2E_DIR, "--signing-key", SIGNING_KEY, "--json"];
}

/** One entry of build --json. */
/** The part of `qemu-img info --output=json` the bake test reads. */
interface QemuImgInfo {
  "format-specific"?: { data?: { "compression-type"?: string } };
}

interface BuildResult {
  kind: string;
  action: string;
  result: string;
  skipped: boolean;
  image: ImageRecord | null;
}

/** Every digest of an image: its index, and per platform the manifest, config and layers. */
function imageDigests(image: StandinImage): string[] {
  return [image.index.digest, ...Object.values(image.platforms).flatMap((p) => [p.manifest.digest, p.config.digest, ...p.layers.map((l) => l.digest)])];
}

/** What the amd64 bake needs of an image: the index and the amd64 manifest, config and layers. */
function amd64Digests(image: StandinImage): string[] {
  const p = image.platforms.amd64;
  return [image.index.digest, p.manifest.digest, p.config.digest, ...p.layers.map((l) => l.digest)];
}

/**
 * The stand-in images come from a real registry only: pushed there with skopeo, absent from the
 * mirror tree (generated without them), and evicted from the cache (which outlives runs), so the
 * first build must fetch them through --registry-mirror or fail.
 */
async function serveImagesFromRegistry(standins: StandinImage[], mirrorDir: string): Promise<void> {
  const registryDir = path.join(E2E_DIR, "registry");
  await safeRemove(registryDir);
  registry = await startRealRegistry(registryDir);
  const registries = new Set<string>();
  for (const image of standins) {
    const ref = parseImageReference(image.image);
    await registry.pushLayout(image.layoutDir, ref.repository, ref.tag);
    registries.add(ref.registry);
    await expect(stat(path.join(mirrorDir, ref.registry, "v2", ref.repository)), `${image.image} must not be in the mirror tree`).rejects.toThrow(/ENOENT/);
    for (const digest of imageDigests(image)) await rm(contentPath(CACHE_DIR, digestToIntegrity(digest)), { force: true });
  }
  registryMirrorArgs = [...registries].flatMap((name) => ["--registry-mirror", `${name}=${registry?.url ?? ""}`]);
}

function buildDoc(stdout: unknown): { ok: boolean; seconds: number; results: BuildResult[] } {
  return JSON.parse(String(stdout)) as { ok: boolean; seconds: number; results: BuildResult[] };
}

beforeAll(async () => {
  await mkdir(E2E_DIR, { recursive: true });
  // Every run bakes afresh: the outputs of an earlier run (its images.json would make this run's
  // first build a no-op) go; the cache (artifacts, the debootstrap base) stays.
  for (const output of ["images.json", "images.auto.tfvars.json", "images", "logs", "boot", ".work"]) await safeRemove(path.join(E2E_DIR, output));
  await rm(BAKED_IMAGES_FILE, { force: true });
  await mkdir(path.dirname(SIGNING_KEY), { recursive: true, mode: 0o700 });
  const key = generateKeyPairSync("ed25519");
  await writeFile(SIGNING_KEY, key.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(SIGNING_PUB, key.publicKey.export({ type: "spki", format: "pem" }));
  const fixture = await generateStandinMirror({ dir: path.join(E2E_DIR, "fixture"), kinds: [...KINDS], arches: ["amd64"], imagesInMirror: false });
  manifestsDir = fixture.manifestsDir;
  images = fixture.images;
  expect(images.map((i) => i.image)).toEqual([expect.stringMatching(/^registry\.k8s\.io\/pause:/)]);
  await serveImagesFromRegistry(images, fixture.mirrorDir);
  server = await serveMirrorWithCli(CLI, fixture.mirrorDir);
  mirrorUrl = server.url;
});

afterAll(async () => {
  await server?.stop();
  await registry?.stop();
});

describe.sequential("bake knd and knc from the fixture mirror and a local registry (qemu, debootstrap base, TCG)", () => {
  it("builds knd and knc in one build call", async () => {
    const started = Date.now();
    const result = await cli(matrixArgs(), 60 * 60_000);
    expect(result.exitCode, `${String(result.stderr).split("\n").slice(-25).join("\n")}`).toBe(0);
    const doc = buildDoc(result.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.results.map((r) => [r.kind, r.action, r.result])).toEqual(KINDS.map((kind) => [kind, "bake", "built"]));
    const seconds = (Date.now() - started) / 1000;
    // Evicted from the cache and absent from the mirror tree before the build: the registry served them.
    for (const image of images) for (const digest of amd64Digests(image)) expect((await stat(contentPath(CACHE_DIR, digestToIntegrity(digest)))).isFile(), `${image.image} ${digest} fetched`).toBe(true);
    for (const kind of KINDS) {
      const image = doc.results.find((r) => r.kind === kind)?.image;
      expect(image?.kind).toBe(kind);
      expect(image?.name).toMatch(new RegExp(`^podplane-${kind}-debian-13-amd64-[0-9a-f]{12}$`));
      expect(image?.qemu?.path).toBe(path.join(E2E_DIR, "images", `${image?.name ?? ""}.qcow2`));
      expect((await stat(image?.qemu?.path ?? "")).size).toBe(image?.size);
      expect(image?.test).toMatchObject({ tested: false, reason: "--skip-test" });
      // Packer's conversion compressed the clusters with zstd (the template's qemu_img_args).
      const info = JSON.parse((await execa("qemu-img", ["info", "--output=json", image?.qemu?.path ?? ""])).stdout) as QemuImgInfo;
      expect(info["format-specific"]?.data?.["compression-type"], "qcow2 compression").toBe("zstd");
      if (image) built.set(kind, { record: image, seconds });
    }
    // The boot tests take exactly what this bake produced (never "the newest image" anywhere).
    await writeFile(BAKED_IMAGES_FILE, `${JSON.stringify(Object.fromEntries(KINDS.map((kind) => [kind, built.get(kind)?.record.qemu?.path])), null, 2)}\n`);
  }, 60 * 60_000);

  it("boots both at once: knc through build's own boot step (GRUB, provider local), knd by direct kernel boot through testImage (provider aws)", async () => {
    // Two single-thread TCG guests on two cores: booting them side by side halves the suite's
    // longest phase. Each boot flow runs once. knd boots the way Podplane's local runner boots a
    // qcow2: -kernel/-initrd/-append from its images.json record (kernel and initrd extracted and
    // checked by digest first), so direct kernel boot is covered without a third boot; knc boots
    // through its firmware and GRUB, as a cloud instance does.
    const knd = built.get("knd")?.record.qemu?.path ?? "";
    const record = await findBootRecord(knd, path.join(E2E_DIR, "images.json"));
    expect(record.boot.cmdline).toMatch(/^root=PARTUUID=\S+ .*console=ttyS0/);
    const podplaneManifest = await loadManifest(podplaneManifestPath(knd, { kind: "knd", os: "debian-13", arch: "amd64" }));
    expect(podplaneManifest.lock.vmconfig.os.boot, "the Podplane manifest beside the qcow2 holds the record's os.boot").toEqual(record.boot);
    const kndDir = path.join(E2E_DIR, "boot", "knd-aws");
    const directBoot = await prepareDirectBoot(knd, record.boot, path.join(kndDir, "boot"), { workParent: path.join(E2E_DIR, "cache", "tmp") });
    const [result, kndReport] = await Promise.all([
      cli(bootTestArgs("knc"), 30 * 60_000),
      testImage({
        image: knd,
        kind: "knd",
        provider: "aws",
        workDir: kndDir,
        directBoot,
        onProgress: (line) => process.stderr.write(`boot knd: ${line}\n`),
      }),
    ]);

    expect(result.exitCode, `${String(result.stderr).split("\n").slice(-25).join("\n")}`).toBe(0);
    const [entry] = buildDoc(result.stdout).results;
    expect(entry).toMatchObject({ kind: "knc", action: "test", result: "tested", skipped: true });
    expect(entry?.image?.name).toBe(built.get("knc")?.record.name);
    expect(entry?.image?.test, "build's own boot step").toMatchObject({ tested: true, ok: true });
    expect(entry?.image?.test?.checks?.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
    expect(entry?.image?.test?.checks?.filter((c) => !c.ok)).toEqual([]);
    const doc = JSON.parse(await readFile(path.join(E2E_DIR, "images.json"), "utf8")) as ImagesFile;
    expect(doc.images.find((i) => i.name === entry?.image?.name)?.test).toMatchObject({ tested: true, ok: true });

    // knd from a Podplane-format user-data.env with provider aws (kube2iam must run) and a
    // generated Nstance delivery, through every named check.
    expect(kndReport.checks.filter((c) => !c.ok)).toEqual([]);
    expect(kndReport.checks.map((c) => c.name).sort()).toEqual(Object.values(CHECK_NAMES).sort());
    expect(kndReport.ok).toBe(true);
    expect(kndReport.checks.find((c) => c.name === CHECK_NAMES.services)?.evidence ?? "").toMatch(/kube2iam active\/running/);
    // QEMU loaded knd's kernel itself: GRUB never ran there.
    const serial = await readFile(kndReport.logPath, "utf8");
    expect(serial).not.toMatch(/GNU GRUB|Booting `Debian/);
    expect(serial).toContain("Linux version");
  });

  it("records both images in images.json and writes the tfvars file", async () => {
    const doc = JSON.parse(await readFile(path.join(E2E_DIR, "images.json"), "utf8")) as ImagesFile;
    for (const kind of KINDS) {
      const record = built.get(kind)?.record;
      expect(record, `${kind} was not built`).toBeDefined();
      const found = doc.images.find((i) => i.name === record?.name && i.target === "qemu");
      expect(found).toMatchObject({ kind, arch: "amd64", os: "debian-13", inputHash: record?.inputHash });
      expect(found?.packerVersion).toMatch(/^\d+\.\d+\.\d+$/);
      expect(found?.dependencies.map((d) => d.name)).toContain("kubelet");
    }
    expect(JSON.parse(await readFile(path.join(E2E_DIR, "images.auto.tfvars.json"), "utf8"))).toHaveProperty("podplane_images");
  });

  for (const kind of KINDS) {
    it(`inspect ${kind}: every artifact where install.sh puts it, units present and enabled, hygiene holds`, async () => {
      const record = built.get(kind)?.record;
      expect(record).toBeDefined();
      const result = await cli(["inspect", record?.qemu?.path ?? "", "--json"], 120_000);
      const report = JSON.parse(String(result.stdout)) as InspectReport;
      expect(report.hygiene).toEqual({ ok: true, findings: [] });
      expect(report.installed?.kind).toBe(kind);
      const manifest = JSON.parse(await readFile(path.join(manifestsDir, `${kind}.debian-13.amd64.json`), "utf8")) as { vmconfig: { dependencies: Record<string, { version: string }> } };
      const expected = Object.keys(manifest.vmconfig.dependencies).filter((n) => n !== "vmconfig");
      expect(report.artifacts.map((a) => a.name).sort()).toEqual(expected.sort());
      for (const artifact of report.artifacts) {
        expect(artifact.version).toBe(manifest.vmconfig.dependencies[artifact.name]?.version);
        const present = artifact.files.filter((f) => f.present && f.executable).map((f) => f.path);
        expect(present, artifact.name).toEqual(expect.arrayContaining(EXPECTED_PATHS[artifact.name] ?? []));
        if (DEBS.includes(artifact.name)) expect(artifact.package, artifact.name).toBe(artifact.version);
      }
      const units = new Map(report.units.map((u) => [u.name, u]));
      for (const unit of [...ALWAYS[kind].map((s) => `${s}.service`), "podplane-configure.service", "nstance-recv-watch.path"]) {
        expect(units.get(unit), unit).toMatchObject({ present: true, enabled: true });
      }
      for (const unit of ["kube2iam.service", "zot.service", "nstance-recv-watch.service"]) expect(units.get(unit), unit).toMatchObject({ present: true });
      expect(report.ok).toBe(true);
      expect(result.exitCode).toBe(0);
    });
  }

  for (const kind of KINDS) {
    it(`${kind}: an SPDX and a CycloneDX SBOM that validate and list every pinned artifact and the image's packages`, async () => {
      const record = built.get(kind)?.record;
      const sbom = record?.sbom;
      expect(sbom, `${kind} record names its SBOMs`).toBeDefined();
      const spdx = JSON.parse(await readFile(sbom?.spdx ?? "", "utf8")) as { packages: Array<{ name: string; versionInfo?: string }> };
      const cdx = JSON.parse(await readFile(sbom?.cyclonedx ?? "", "utf8")) as { components: Array<{ name: string; version?: string }> };
      const validateSpdx = spdxValidator();
      const validateCdx = cycloneDxValidator();
      expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors?.slice(0, 3))).toBe(true);
      expect(validateCdx(cdx), JSON.stringify(validateCdx.errors?.slice(0, 3))).toBe(true);
      const manifest = (await loadManifests(manifestsDir)).find((m) => m.kind === kind && m.arch === "amd64");
      for (const dep of manifest?.dependencies.filter((d) => !d.local) ?? []) {
        expect(spdx.packages.some((p) => p.name === dep.name && p.versionInfo === dep.version), `SPDX lists ${dep.name} ${dep.version}`).toBe(true);
        expect(cdx.components.some((c) => c.name === dep.name && c.version === dep.version), `CycloneDX lists ${dep.name} ${dep.version}`).toBe(true);
      }
      // What the image's dpkg database holds, read offline: the base's packages and the pinned .debs.
      for (const pkg of ["systemd", "openssh-server", "cloud-init", "libpq5"]) expect(spdx.packages.some((p) => p.name === pkg), `SPDX lists ${pkg}`).toBe(true);
      expect(spdx.packages.length).toBeGreaterThan(150);
    });
  }

  it("each image's provenance is signed and verify-image passes it; a flipped byte in the qcow2 fails it", async () => {
    for (const kind of KINDS) {
      const record = built.get(kind)?.record;
      expect(record?.provenance, `${kind} record names its provenance`).toMatchObject({ signed: true });
      const envelope = JSON.parse((await readFile(record?.provenance?.path ?? "", "utf8")).trim()) as { payload: string };
      expect(statementErrors(JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")))).toEqual([]);
      const result = await cli(["verify-image", record?.name ?? "", "--key", SIGNING_PUB, "--out", E2E_DIR, "--manifests", manifestsDir, "--json"]);
      expect(result.exitCode, String(result.stderr)).toBe(0);
      const report = JSON.parse(String(result.stdout)) as { ok: boolean; checks: Array<{ name: string; status: string }> };
      expect(report.ok).toBe(true);
      expect(Object.fromEntries(report.checks.map((c) => [c.name, c.status]))).toEqual({ statement: "ok", signature: "ok", subject: "ok", dependencies: "ok" });
    }
    // One byte of knd's qcow2 flipped (and flipped back after): the subject no longer matches.
    const knd = built.get("knd")?.record;
    const flip = async () => {
      const file = await open(knd?.qemu?.path ?? "", "r+");
      try {
        const byte = Buffer.alloc(1);
        await file.read(byte, 0, 1, 1 << 20);
        byte[0] = (byte[0] ?? 0) ^ 0xff;
        await file.write(byte, 0, 1, 1 << 20);
      } finally {
        await file.close();
      }
    };
    await flip();
    try {
      const result = await cli(["verify-image", knd?.name ?? "", "--key", SIGNING_PUB, "--out", E2E_DIR, "--manifests", manifestsDir]);
      expect(result.exitCode).toBe(1);
      expect(String(result.stderr)).toContain(`verify-image: ${knd?.name ?? ""}: subject did not match`);
    } finally {
      await flip();
    }
  });

  it("a second identical build call is a no-op in under 1 s: every image skipped, no fetch, no Packer", async () => {
    const started = performance.now();
    const result = await cli(matrixArgs(), 60_000);
    const seconds = (performance.now() - started) / 1000;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const doc = buildDoc(result.stdout);
    expect(doc.results.map((r) => [r.kind, r.action, r.result, r.image?.name])).toEqual(KINDS.map((kind) => [kind, "skip", "skipped", built.get(kind)?.record.name]));
    expect(String(result.stderr)).not.toMatch(/packer build|fetch \d+ artifacts|base image/i);
    process.stderr.write(`e2e: matrix no-op ${seconds.toFixed(3)} s (process), ${doc.seconds.toFixed(3)} s (plan)\n`);
    expect(seconds).toBeLessThan(1);
  });
});
