// pin of signed upstreams against fixtures built here: a throwaway archive key, a signed apt
// repository (InRelease → Packages.gz → .deb made with dpkg-deb) and a clear-signed
// runc.sha256sum, all served by a mirror on 127.0.0.1 with no --checksums-from: the signature
// is what vouches for them. Every refusal leaves the manifests as they were.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { WorkError } from "../../pipeline/errors/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { pinDependency, type PinOptions } from "../../pipeline/pin/index.js";
import { startFixtureServer, type FixtureServer } from "../fixtures/http-server.js";
import { copiedManifests, digestOf, listFiles, mirrorPath } from "../fetch/helpers.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { buildAptRepo, buildDeb, sha256, type AptRepoOptions, type DebSpec } from "../trust/apt-fixtures.js";
import { createSigner, type TestKey, type TestSigner } from "../trust/pgp-fixtures.js";

const DEBIAN = "https://deb.debian.org/debian/";
const FLUENT = "https://packages.fluentbit.io/debian/trixie/";
const RUNC = "https://github.com/opencontainers/runc/releases/download/v1.5.0/";

let signer: TestSigner;
let archive: TestKey;
let stranger: TestKey;
let workDir: string;
const debs = new Map<string, { spec: DebSpec; bytes: Buffer }>();

function uidmap(arch: string): DebSpec {
  return { name: "uidmap", version: "1:4.17.4-3", arch, filename: `pool/main/s/shadow/uidmap_4.17.4-3_${arch}.deb` };
}

beforeAll(async () => {
  signer = await createSigner();
  archive = await signer.generate("Test Archive Key <archive@example.test>");
  stranger = await signer.generate("Not Pinned <stranger@example.test>");
  workDir = await mkdtemp(path.join(tmpdir(), "pp-debs-"));
  for (const spec of [uidmap("amd64"), uidmap("arm64"), { name: "fluent-bit", version: "5.1.0", arch: "amd64", filename: "pool/main/f/fluent-bit/fluent-bit_5.1.0_amd64.deb" }]) {
    debs.set(`${spec.name}/${spec.arch}`, { spec, bytes: await buildDeb(workDir, spec) });
  }
});
afterAll(async () => {
  await signer.close();
  await rm(workDir, { recursive: true, force: true });
});
resetCliStateAfterEach();

async function setup() {
  const { dir, manifestsDir } = await copiedManifests("pp-pin-signed-");
  // every trust root holds the test archive key: the tests point pin at it instead of trust/
  const trustDir = path.join(dir, "trust");
  for (const name of ["debian", "fluent-bit", "runc"]) await signer.trustRoot(trustDir, name, [archive]);
  const mirror = await startFixtureServer();
  onTestFinished(() => mirror.close());
  const cacheDir = path.join(dir, "cache");
  const pin = (spec: string, extra: Partial<PinOptions> = {}) =>
    pinDependency({ spec, manifestsDir, cacheDir, mirror: mirror.url, trustDir, retry: { retries: 0, baseDelayMs: 1 }, ...extra });
  const snapshot = async () => {
    const files = (await readdir(manifestsDir)).sort();
    return Promise.all(files.map(async (f) => `${f}\n${await readFile(path.join(manifestsDir, f), "utf8")}`));
  };
  return { dir, manifestsDir, trustDir, cacheDir, mirror, pin, snapshot };
}

async function serveRepo(mirror: FixtureServer, options: Partial<AptRepoOptions> & { debs: AptRepoOptions["debs"] }) {
  const repo = await buildAptRepo({ root: DEBIAN, suite: "trixie", arches: ["amd64", "arm64"], signer, keys: [archive], ...options });
  for (const [url, bytes] of repo.files) mirror.file(mirrorPath(url), bytes);
  return repo;
}

const uidmapDebs = () => [debs.get("uidmap/amd64"), debs.get("uidmap/arm64")].filter((d) => d !== undefined);

/** Runs `pin` expecting a refusal; returns the error after checking nothing was written. */
async function refused(run: () => Promise<unknown>, snapshot: () => Promise<string[]>, cacheDir?: string): Promise<WorkError> {
  const before = await snapshot();
  const error = (await run().catch((e: unknown) => e)) as WorkError;
  expect(error).toBeInstanceOf(WorkError);
  expect(await snapshot()).toEqual(before);
  if (cacheDir) expect((await listFiles(path.join(cacheDir, "content-v2")).catch(() => [])).length).toBe(0);
  return error;
}

describe("pin through a signed apt repository", () => {
  it("pins a Debian .deb from a mirror-served InRelease verified by the pinned key, reporting every check", async () => {
    const { manifestsDir, mirror, pin } = await setup();
    const repo = await serveRepo(mirror, { debs: uidmapDebs() });
    const result = await pin("uidmap@4.17.4-3");
    expect(result.pins).toHaveLength(2);
    const amd64 = result.pins.find((p) => p.arch === "amd64");
    const deb = debs.get("uidmap/amd64")?.bytes ?? Buffer.alloc(0);
    expect(amd64).toMatchObject({ digest: digestOf(deb), size: deb.length, unsigned: undefined, trust: undefined });
    expect(amd64?.checks).toEqual([
      { kind: "signature", detail: `InRelease of trixie signed by ${archive.fingerprint}`, source: repo.inReleaseUrl, trustRoot: "trust/debian", key: archive.fingerprint },
      { kind: "digest-file", detail: "main/binary-amd64/Packages.gz matches InRelease's SHA256", source: repo.packagesUrl("amd64") },
      { kind: "digest-file", detail: "uidmap 1:4.17.4-3 matches the SHA256 in Packages", source: repo.packagesUrl("amd64") },
    ]);
    const [knd] = await loadManifests(manifestsDir, { kinds: ["knd"], arches: ["arm64"] });
    expect(knd?.dependencies.find((d) => d.name === "uidmap")).toMatchObject({
      version: "4.17.4-3",
      url: `${DEBIAN}pool/main/s/shadow/uidmap_4.17.4-3_arm64.deb`,
      digest: digestOf(debs.get("uidmap/arm64")?.bytes ?? Buffer.alloc(0)),
    });
  });

  it("reads an xz-only or uncompressed index as listed, and falls back to the next listed form when one is not served", async () => {
    for (const compression of ["xz", "plain"] as const) {
      const { mirror, pin } = await setup();
      await serveRepo(mirror, { debs: uidmapDebs(), compression });
      const result = await pin("uidmap@4.17.4-3", { arches: ["amd64"], kinds: ["knd"] });
      expect(result.pins[0]?.checks[1]?.detail, compression).toBe(`main/binary-amd64/Packages${compression === "xz" ? ".xz" : ""} matches InRelease's SHA256`);
    }
    // InRelease lists a Packages.gz the archive does not serve: the next listed form is read
    const { mirror, pin } = await setup();
    const repo = await serveRepo(mirror, { debs: uidmapDebs() });
    mirror.route(mirrorPath(repo.packagesUrl("amd64")), (_req, res) => {
      res.writeHead(404);
      res.end();
    });
    mirror.file(mirrorPath(`${DEBIAN}dists/trixie/main/binary-amd64/Packages`), repo.plainPackages.get("amd64") ?? "");
    const result = await pin("uidmap@4.17.4-3", { arches: ["amd64"], kinds: ["knd"] });
    expect(result.pins[0]?.checks[1]?.detail).toBe("main/binary-amd64/Packages matches InRelease's SHA256");
  });

  it("refuses an InRelease changed after signing (bad signature)", async () => {
    const { mirror, pin, snapshot, cacheDir } = await setup();
    const repo = await serveRepo(mirror, { debs: uidmapDebs() });
    const signed = repo.files.get(repo.inReleaseUrl)?.toString() ?? "";
    mirror.file(mirrorPath(repo.inReleaseUrl), signed.replace("Label: Test", "Label: Tset"));
    const error = await refused(() => pin("uidmap@4.17.4-3", { arches: ["amd64"] }), snapshot, cacheDir);
    expect(error.code).toBe("EBADSIGNATURE");
    expect(error.message).toMatch(/^uidmap 4\.17\.4-3 amd64: signature check of http:\/\/127\.0\.0\.1:\d+\/deb\.debian\.org\/debian\/dists\/trixie\/InRelease failed: BAD signature/);
    expect(error.data).toMatchObject({ check: "signature", trustRoot: "trust/debian" });
  });

  it("refuses an InRelease signed only by a key that is not pinned (wrong key)", async () => {
    const { mirror, pin, snapshot, cacheDir } = await setup();
    await serveRepo(mirror, { debs: uidmapDebs(), keys: [stranger] });
    const error = await refused(() => pin("uidmap@4.17.4-3", { arches: ["arm64"] }), snapshot, cacheDir);
    expect(error.code).toBe("EUNKNOWNKEY");
    expect(error.message).toMatch(new RegExp(`^uidmap 4\\.17\\.4-3 arm64: .*signed only by key ${stranger.fingerprint.slice(-16)}, which is not in trust/debian`));
  });

  it("refuses a Packages index whose digest differs from InRelease", async () => {
    const { mirror, pin, snapshot, cacheDir } = await setup();
    const repo = await serveRepo(mirror, { debs: uidmapDebs() });
    const forged = gzipSync(Buffer.from("Package: uidmap\nFilename: pool/main/s/shadow/uidmap_4.17.4-3_amd64.deb\nSHA256: 00\n"));
    mirror.file(mirrorPath(repo.packagesUrl("amd64")), forged);
    const error = await refused(() => pin("uidmap@4.17.4-3", { arches: ["amd64"] }), snapshot, cacheDir);
    expect(error.code).toBe("EINDEXDIGEST");
    expect(error.message).toMatch(/^uidmap 4\.17\.4-3 amd64: the Packages index .*binary-amd64\/Packages\.gz differs from its SHA256 in the signed InRelease .*InRelease: expected (sha256:[0-9a-f]{64}|\d+ bytes), found/);
    expect(error.data).toMatchObject({ check: "digest-file" });
  });

  it("refuses a .deb that Packages does not list, and one whose bytes differ from its Packages entry", async () => {
    const { mirror, pin, snapshot, cacheDir } = await setup();
    await serveRepo(mirror, { debs: uidmapDebs() });
    mirror.file(mirrorPath(`${DEBIAN}pool/main/s/shadow/uidmap_4.17.4-4_amd64.deb`), randomBytes(512));
    const missing = await refused(() => pin("uidmap@4.17.4-4", { arches: ["amd64"] }), snapshot, cacheDir);
    expect(missing.code).toBe("ENOTINDEX");
    expect(missing.message).toMatch(/^uidmap 4\.17\.4-4 amd64: pool\/main\/s\/shadow\/uidmap_4\.17\.4-4_amd64\.deb is not listed in the Packages index .*Packages\.gz \(signed through .*InRelease\)/);

    const deb = debs.get("uidmap/amd64")?.bytes ?? Buffer.alloc(0);
    const other = Buffer.from(deb);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 0xff;
    mirror.file(mirrorPath(`${DEBIAN}pool/main/s/shadow/uidmap_4.17.4-3_amd64.deb`), other);
    const changed = await refused(() => pin("uidmap@4.17.4-3", { arches: ["amd64"] }), snapshot, cacheDir);
    expect(changed.code).toBe("EINTEGRITY");
    expect(changed.message).toContain(`does not match its entry in the Packages index`);
    expect(changed.message).toContain(`expected sha256:${sha256(deb)}`);
  });

  it("refuses a signed InRelease of another suite, and one past its Valid-Until", async () => {
    const { mirror, pin, snapshot } = await setup();
    const repo = await serveRepo(mirror, { debs: uidmapDebs(), suite: "bookworm" });
    // bookworm's (validly signed) InRelease served where trixie's belongs
    mirror.file(mirrorPath(`${DEBIAN}dists/trixie/InRelease`), repo.files.get(repo.inReleaseUrl) ?? "");
    const other = await refused(() => pin("uidmap@4.17.4-3", { arches: ["amd64"] }), snapshot);
    expect(other.code).toBe("ERELEASE");
    expect(other.message).toMatch(/is signed but describes suite stable \(codename bookworm\), not trixie/);

    await serveRepo(mirror, { debs: uidmapDebs(), releaseFields: "Valid-Until: Sat, 01 Nov 2025 10:00:00 UTC" });
    const stale = await refused(() => pin("uidmap@4.17.4-3", { arches: ["amd64"] }), snapshot);
    expect(stale.message).toMatch(/expired on 2025-11-01T10:00:00\.000Z \(Valid-Until\): a stale copy/);
  });

  it("checks fluent-bit's repository against trust/fluent-bit, not Debian's key", async () => {
    const { mirror, pin, snapshot, trustDir } = await setup();
    const fluent = debs.get("fluent-bit/amd64");
    if (!fluent) throw new Error("fixture");
    await serveRepo(mirror, { root: FLUENT, arches: ["amd64"], debs: [fluent], keys: [stranger] });
    // each repository has its own trust root: the key in trust/debian does not sign for Fluent Bit's
    const error = await refused(() => pin("fluent-bit@5.1.0", { arches: ["amd64"] }), snapshot);
    expect(error.message).toMatch(/which is not in trust\/fluent-bit/);
    await signer.trustRoot(trustDir, "fluent-bit", [stranger]);
    const result = await pin("fluent-bit@5.1.0", { arches: ["amd64"] });
    expect(result.pins[0]?.checks[0]).toMatchObject({ kind: "signature", trustRoot: "trust/fluent-bit", key: stranger.fingerprint });
    expect(result.pins[0]?.digest).toBe(digestOf(fluent.bytes));
  });
});

describe("pin runc from its clear-signed runc.sha256sum", () => {
  async function serveRunc(mirror: FixtureServer, keys: TestKey[]) {
    const amd64 = randomBytes(2048);
    const arm64 = randomBytes(2048);
    mirror.file(mirrorPath(`${RUNC}runc.amd64`), amd64);
    mirror.file(mirrorPath(`${RUNC}runc.arm64`), arm64);
    const sums = `${sha256(amd64)}  runc.amd64\n${sha256(Buffer.from("asc"))}  runc.amd64.asc\n${sha256(arm64)}  runc.arm64\n`;
    mirror.file(mirrorPath(`${RUNC}runc.sha256sum`), await signer.clearsign(sums, keys));
    return { amd64, arm64 };
  }

  it("verifies the signature with trust/runc and takes the digest from the signed text (text output and --json)", async () => {
    const { dir, manifestsDir, trustDir, cacheDir, mirror } = await setup();
    const { amd64 } = await serveRunc(mirror, [archive]);
    const args = ["pin", "runc@1.5.0", "--manifests", manifestsDir, "--cache", cacheDir, "--mirror", mirror.url, "--trust-dir", trustDir, "--arch", "amd64"];
    const text = await runCli(...args);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`checked runc 1.5.0 amd64: digest-file (runc.sha256sum lists runc.amd64), signature (trust/runc, key ${archive.fingerprint})\n`);
    const json = await runCli(...args, "--json");
    const report = JSON.parse(json.stdout) as { pins: { digest: string; checks: { kind: string; key?: string }[]; unsigned?: string }[] };
    expect(report.pins[0]?.digest).toBe(digestOf(amd64));
    expect(report.pins[0]?.checks.map((c) => [c.kind, c.key])).toEqual([
      ["digest-file", undefined],
      ["signature", archive.fingerprint],
    ]);
    expect(report.pins[0]?.unsigned).toBeUndefined();
    expect(dir).toBeTruthy();
  });

  it("refuses a changed or foreign-signed runc.sha256sum with exit 1, naming the artifact and the check", async () => {
    const { manifestsDir, trustDir, cacheDir, mirror, snapshot } = await setup();
    await serveRunc(mirror, [stranger]);
    const before = await snapshot();
    const args = ["pin", "runc@1.5.0", "--manifests", manifestsDir, "--cache", cacheDir, "--mirror", mirror.url, "--trust-dir", trustDir, "--arch", "amd64"];
    const foreign = await runCli(...args);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/runc 1\.5\.0 amd64: signature check of .*runc\.sha256sum failed: signed only by key [0-9A-F]{16}, which is not in trust\/runc/);
    expect(await snapshot()).toEqual(before);

    const signed = await signer.clearsign(`${"0".repeat(64)}  runc.amd64\n`, [archive]);
    mirror.file(mirrorPath(`${RUNC}runc.sha256sum`), signed.replace("0".repeat(64), "1".repeat(64)));
    const bad = await runCli(...args, "--json");
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).toMatch(/BAD signature/);
    expect(await snapshot()).toEqual(before);
  });
});

describe("pin of an unsigned upstream", () => {
  it("says per artifact that no signature was checked", async () => {
    const { mirror, pin } = await setup();
    const sums = await startFixtureServer();
    onTestFinished(() => sums.close());
    const url = "https://github.com/containerd/containerd/releases/download/v2.4.0/containerd-2.4.0-linux-amd64.tar.gz";
    const bytes = randomBytes(1024);
    mirror.file(mirrorPath(url), bytes);
    sums.file(mirrorPath(`${url}.sha256sum`), `${sha256(bytes)}  containerd-2.4.0-linux-amd64.tar.gz\n`);
    const lines: string[] = [];
    const result = await pin("containerd@2.4.0", { arches: ["amd64"], checksumsFrom: sums.url, onProgress: (l) => lines.push(l) });
    expect(result.pins[0]?.checks).toEqual([{ kind: "digest-file", detail: "containerd-2.4.0-linux-amd64.tar.gz.sha256sum lists containerd-2.4.0-linux-amd64.tar.gz", source: `${url}.sha256sum` }]);
    expect(result.pins[0]?.unsigned).toMatch(/upstream publishes no signature/);
    expect(lines.join("\n")).toMatch(/checks: digest-file \(containerd-2\.4\.0-linux-amd64\.tar\.gz\.sha256sum lists .*\); no signature: upstream publishes no signature/);
  });
});
