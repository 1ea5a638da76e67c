import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestSigstore, serveKube2iamBundle, serveKubernetesSignature, type TestSigstore } from "../trust/sigstore-fixtures.js";
import { UsageError, WorkError } from "../../pipeline/errors/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { pinDependency, pinInManifestText, type PinOptions } from "../../pipeline/pin/index.js";
import type { FixtureServer } from "../fixtures/http-server.js";
import { digestOf, listFiles, mirrorPath, pinWorkspace } from "../fetch/helpers.js";

// Kubernetes binaries and kube2iam are served with signatures from a test Sigstore CA (pin requires them).
let sigstore: TestSigstore;
beforeAll(async () => {
  sigstore = await makeTestSigstore();
});
afterAll(() => sigstore.cleanup());

async function setup() {
  // sums: upstream's checksum files, reached by another way than the mirror (--checksums-from).
  const { dir, manifestsDir, mirror, upstream: sums } = await pinWorkspace("pp-pin-");
  const pin = (spec: string, extra: Partial<PinOptions> = {}) =>
    pinDependency({ spec, manifestsDir, cacheDir: path.join(dir, "cache"), mirror: mirror.url, checksumsFrom: sums.url, sigstoreTrustDir: sigstore.trustDir, retry: { retries: 0, baseDelayMs: 1 }, ...extra });
  return { dir, manifestsDir, mirror, sums, pin };
}

/** Serves random bytes at `url` on the mirror and returns them. */
function serve(mirror: FixtureServer, url: string, size = 4096): Buffer {
  const bytes = randomBytes(size);
  mirror.file(mirrorPath(url), bytes);
  return bytes;
}

function hex(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** The lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  expect(b).toHaveLength(a.length);
  return b.filter((line, i) => line !== a[i]).map((line) => line.trim());
}

const GH = "https://github.com";

describe("pin", () => {
  it("kubernetes@V pins every Kubernetes binary of every matching manifest from bare-hex checksum files; the diff is only the change", async () => {
    const { manifestsDir, mirror, sums, pin } = await setup();
    const digests = new Map<string, string>();
    for (const arch of ["amd64", "arm64"]) {
      for (const bin of ["kubelet", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubectl"]) {
        const url = `https://dl.k8s.io/release/v1.37.0/bin/linux/${arch}/${bin}`;
        const bytes = serve(mirror, url);
        digests.set(`${bin}/${arch}`, digestOf(bytes));
        sums.file(mirrorPath(`${url}.sha256`), hex(digestOf(bytes)));
        await serveKubernetesSignature(sigstore, sums, mirrorPath, url, bytes);
      }
    }
    const before = await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8");
    const result = await pin("kubernetes@v1.37.0");
    expect(result.pins).toHaveLength(10);
    expect(result.files.map((f) => [path.basename(f.file), f.changed.length])).toEqual([
      ["knc.debian-13.amd64.json", 20],
      ["knc.debian-13.arm64.json", 20],
      ["knd.debian-13.amd64.json", 4],
      ["knd.debian-13.arm64.json", 4],
    ]);
    const after = await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8");
    expect(changedLines(before, after)).toEqual([
      `"version": "1.37.0",`,
      `"url": "https://dl.k8s.io/release/v1.37.0/bin/linux/amd64/kubelet",`,
      `"digest": "${digests.get("kubelet/amd64")}",`,
      `"size": 4096`,
    ]);
    const [knc] = await loadManifests(manifestsDir, { kinds: ["knc"], arches: ["arm64"] });
    expect(knc?.dependencies.find((d) => d.name === "kubectl")).toMatchObject({ version: "1.37.0", digest: digests.get("kubectl/arm64"), size: 4096 });
  });

  it("cross-checks `hex  name`, `hex *name` and sha512 checksum files (runc's signed one: pin-signed.test.ts)", async () => {
    const { manifestsDir, mirror, sums, pin } = await setup();
    const containerdUrl = `${GH}/containerd/containerd/releases/download/v2.4.0/containerd-2.4.0-linux-amd64.tar.gz`;
    const containerd = serve(mirror, containerdUrl);
    sums.file(mirrorPath(`${containerdUrl}.sha256sum`), `${hex(digestOf(containerd))}  containerd-2.4.0-linux-amd64.tar.gz\n`);

    const zotUrl = `${GH}/project-zot/zot/releases/download/v2.2.0/zot-linux-amd64-minimal`;
    const zot = serve(mirror, zotUrl);
    sums.file(
      mirrorPath(`${GH}/project-zot/zot/releases/download/v2.2.0/checksums.sha256.txt`),
      `${"0".repeat(64)} *zot-linux-amd64\n${hex(digestOf(zot))} *zot-linux-amd64-minimal\n`,
    );

    const kube2iamUrl = `${GH}/podplane/kube2iam-binaries/releases/download/0.11.2/kube2iam_0.11.2_linux_amd64.tar.gz`;
    const kube2iam = serve(mirror, kube2iamUrl);
    const kube2iamSums = `${GH}/podplane/kube2iam-binaries/releases/download/0.11.2/kube2iam_0.11.2_checksums.txt`;
    const kube2iamText = `${hex(digestOf(kube2iam, "sha512"))}  kube2iam_0.11.2_linux_amd64.tar.gz\n`;
    sums.file(mirrorPath(kube2iamSums), kube2iamText);
    await serveKube2iamBundle(sigstore, sums, mirrorPath, kube2iamSums, kube2iamText);

    for (const spec of ["containerd@2.4.0", "zot@2.2.0", "kube2iam@0.11.2"]) {
      const result = await pin(spec, { arches: ["amd64"] });
      expect(result.pins[0]?.checksum, spec).toBeDefined();
    }
    const [knd] = await loadManifests(manifestsDir, { kinds: ["knd"], arches: ["amd64"] });
    const dep = (name: string) => knd?.dependencies.find((d) => d.name === name);
    expect(dep("containerd")).toMatchObject({ version: "2.4.0", url: containerdUrl, digest: digestOf(containerd) });
    expect(dep("zot")).toMatchObject({ version: "2.2.0", digest: digestOf(zot) });
    expect(dep("kube2iam")).toMatchObject({ version: "0.11.2", digest: digestOf(kube2iam, "sha512"), size: 4096 });
  });

  it("refuses a download that does not match upstream's checksum file and changes nothing", async () => {
    const { dir, manifestsDir, mirror, sums: upstream, pin } = await setup();
    const url = `${GH}/netsy-dev/netsy/releases/download/v1.2.0/netsy_1.2.0_linux_amd64.tar.gz`;
    serve(mirror, url);
    const sums = `${GH}/netsy-dev/netsy/releases/download/v1.2.0/netsy_1.2.0_checksums.txt`;
    upstream.file(mirrorPath(sums), `${"ab".repeat(64)}  netsy_1.2.0_linux_amd64.tar.gz\n`);
    const before = await readFile(path.join(manifestsDir, "knc.debian-13.amd64.json"), "utf8");
    const error = (await pin("netsy@1.2.0", { arches: ["amd64"] }).catch((e: unknown) => e)) as WorkError;
    expect(error).toBeInstanceOf(WorkError);
    expect(error.code).toBe("EINTEGRITY");
    expect(error.message).toMatch(
      new RegExp(`^netsy 1\\.2\\.0 amd64: .*netsy_1\\.2\\.0_linux_amd64\\.tar\\.gz does not match upstream's checksum file ${upstream.url}.*netsy_1\\.2\\.0_checksums\\.txt: expected sha512:(ab){64}, found sha512:[0-9a-f]{128}$`),
    );
    expect(await readFile(path.join(manifestsDir, "knc.debian-13.amd64.json"), "utf8")).toBe(before);
    expect(await listFiles(path.join(dir, "cache", "content-v2"))).toEqual([]);
  });

  it("never pins a .deb by the mirror's bytes alone (its digest comes from the signed InRelease), and refuses a missing checksum file", async () => {
    const { manifestsDir, mirror, pin } = await setup();
    serve(mirror, "https://deb.debian.org/debian/pool/main/p/postgresql-18/libpq5_18.1-1_arm64.deb");
    const before = await readFile(path.join(manifestsDir, "knd.debian-13.arm64.json"), "utf8");
    // no InRelease on the mirror: not even --trust-mirror makes the .deb's own bytes decide
    await expect(pin("libpq5@18.1-1", { arches: ["arm64"], kinds: ["knd"], trustMirror: true, timeoutMs: 2000 })).rejects.toMatchObject({
      code: "ENOTFOUND",
      message: expect.stringMatching(/^libpq5 18\.1-1 arm64 InRelease: not found .*dists\/trixie\/InRelease/) as unknown,
    });
    expect(await readFile(path.join(manifestsDir, "knd.debian-13.arm64.json"), "utf8")).toBe(before);

    serve(mirror, `${GH}/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-amd64.tar.gz`);
    await expect(pin("crictl@1.37.0", { arches: ["amd64"] })).rejects.toMatchObject({ code: "EUNTRUSTED", message: expect.stringContaining("crictl-v1.37.0-linux-amd64.tar.gz.sha256") as unknown });
  });

  it("never takes the digest from the mirror alone: a mirror that serves other bytes with a matching checksum file is caught by upstream's", async () => {
    const { manifestsDir, mirror, sums, pin } = await setup();
    const url = `${GH}/containerd/containerd/releases/download/v2.4.0/containerd-2.4.0-linux-amd64.tar.gz`;
    const forged = serve(mirror, url);
    mirror.file(mirrorPath(`${url}.sha256sum`), `${hex(digestOf(forged))}  containerd-2.4.0-linux-amd64.tar.gz\n`);
    sums.file(mirrorPath(`${url}.sha256sum`), `${"cd".repeat(32)}  containerd-2.4.0-linux-amd64.tar.gz\n`);
    const before = await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8");
    await expect(pin("containerd@2.4.0", { arches: ["amd64"] })).rejects.toMatchObject({ code: "EINTEGRITY" });
    expect(await readFile(path.join(manifestsDir, "knd.debian-13.amd64.json"), "utf8")).toBe(before);
  });

  it("refuses when upstream's checksum file cannot be read; --trust-mirror takes the mirror's, says so in the diff, and a later vouched pin removes the mark", async () => {
    const { manifestsDir, mirror, sums, pin } = await setup();
    const url = `${GH}/containerd/containerd/releases/download/v2.4.0/containerd-2.4.0-linux-amd64.tar.gz`;
    const bytes = serve(mirror, url);
    const line = `${hex(digestOf(bytes))}  containerd-2.4.0-linux-amd64.tar.gz\n`;
    mirror.file(mirrorPath(`${url}.sha256sum`), line);
    const file = path.join(manifestsDir, "knd.debian-13.amd64.json");
    const before = await readFile(file, "utf8");
    await expect(pin("containerd@2.4.0", { arches: ["amd64"] })).rejects.toMatchObject({ code: "EUNTRUSTED", message: expect.stringMatching(/a mirror alone cannot vouch for a digest.*--trust-mirror/) as unknown });
    expect(await readFile(file, "utf8")).toBe(before);

    const lines: string[] = [];
    const trusted = await pin("containerd@2.4.0", { arches: ["amd64"], trustMirror: true, onProgress: (l) => lines.push(l) });
    expect(trusted.pins[0]).toMatchObject({ trust: "mirror", digest: digestOf(bytes) });
    expect(trusted.files.find((f) => f.file === file)?.changed).toContain("containerd.trust");
    expect(lines.join("\n")).toMatch(/ONLY THE MIRROR vouches/);
    const marked = await readFile(file, "utf8");
    expect(marked.split("\n").filter((l) => !before.split("\n").includes(l)).map((l) => l.trim())).toContain('"trust": "mirror"');
    const [loaded] = await loadManifests(manifestsDir, { kinds: ["knd"], arches: ["amd64"] });
    expect(loaded?.dependencies.find((d) => d.name === "containerd")?.digest).toBe(digestOf(bytes));

    sums.file(mirrorPath(`${url}.sha256sum`), line);
    const vouched = await pin("containerd@2.4.0", { arches: ["amd64"] });
    expect(vouched.pins[0]?.trust).toBeUndefined();
    expect(await readFile(file, "utf8")).not.toContain('"trust"');
  });

  it("redacts credentials of a mirror URL in progress lines and errors", async () => {
    const { mirror, sums, pin } = await setup();
    const url = `${GH}/containerd/containerd/releases/download/v2.4.0/containerd-2.4.0-linux-amd64.tar.gz`;
    const bytes = serve(mirror, url);
    sums.file(mirrorPath(`${url}.sha256sum`), `${"ef".repeat(32)}  containerd-2.4.0-linux-amd64.tar.gz\n`);
    const secretMirror = mirror.url.replace("http://", "http://builder:s3cret@");
    const lines: string[] = [];
    const error = (await pin("containerd@2.4.0", { arches: ["amd64"], mirror: secretMirror, onProgress: (l) => lines.push(l) }).catch((e: unknown) => e)) as WorkError;
    expect(error.code).toBe("EINTEGRITY");
    expect(`${error.message} ${JSON.stringify(error.data)}`).not.toContain("s3cret");
    expect(`${error.message}`).toContain("http://***@127.0.0.1");
    expect(lines.join("\n")).not.toContain("s3cret");
    expect(bytes.length).toBe(4096);
  });

  it("refuses bad specs and names before any request", async () => {
    const { mirror, pin } = await setup();
    await expect(pin("kubernetes")).rejects.toBeInstanceOf(UsageError);
    await expect(pin("etcd@3.6.0")).rejects.toThrow(/unknown dependency "etcd"; expected one of kubernetes, kubelet/);
    await expect(pin("netsy@1.2.0", { kinds: ["knd"] })).rejects.toThrow("no selected manifest needs netsy (it is for knc)");
    expect(mirror.count()).toBe(0);
  });

  it("adds a dependency a manifest does not have yet, in name order, keeping the rest of the text", () => {
    const text = `${JSON.stringify({ vmconfig: { dependencies: { a: { version: "1" }, zz: { version: "3" } } } }, null, 2)}\n`;
    const { text: out, changed } = pinInManifestText(text, "zot", { version: "2", url: "https://x/amd64/zot", type: "binary", digest: "sha256:00", size: 1 });
    expect(changed).toEqual(["version", "url", "type", "digest", "size"]);
    expect(Object.keys((JSON.parse(out) as { vmconfig: { dependencies: object } }).vmconfig.dependencies)).toEqual(["a", "zot", "zz"]);
    // every original line is still there, in order; only the new entry's lines were added
    const added = out.split("\n").filter((line) => !text.split("\n").includes(line));
    expect(added.map((l) => l.trim())).toEqual(['"zot": {', '"version": "2",', '"url": "https://x/amd64/zot",', '"type": "binary",', '"digest": "sha256:00",', '"size": 1']);
  });
});
