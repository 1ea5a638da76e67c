// The Podplane lock manifest written beside a baked qcow2: loaded back with this tool's own
// manifest loader; os.image is the qcow2 (file:/// URL or under --publish-url, sha512, size),
// os.boot the image's record, the pins those of the manifest it was baked from.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { UsageError } from "../../pipeline/errors/index.js";
import { loadManifest, parseManifest } from "../../pipeline/manifest/load.js";
import { parsePublishUrl, podplaneManifestPath, writePodplaneManifest, type OsBoot } from "../../pipeline/publish/podplane-manifest.js";
import { tempDir } from "../helpers/temp-dir.js";

const BOOT: OsBoot = {
  cmdline: "root=PARTUUID=32b43d98-01 ro console=tty0 console=ttyS0,115200 consoleblank=0",
  kernel: { partition: 1, path: "/boot/vmlinuz-6.12.117+deb13-cloud-amd64", digest: `sha256:${"a".repeat(64)}` },
  initrd: { partition: 1, path: "/boot/initrd.img-6.12.117+deb13-cloud-amd64", digest: `sha256:${"b".repeat(64)}` },
};

async function bakedQcow2(): Promise<string> {
  const dir = path.join(await tempDir("podplane-manifest-"), "out dir", "images");
  await mkdir(dir, { recursive: true });
  const qcow2 = path.join(dir, "podplane-knd-debian-13-amd64-1b08a7c915d1.qcow2");
  await writeFile(qcow2, "not really a qcow2, but bytes with a digest");
  return qcow2;
}

describe("the Podplane lock manifest beside a baked qcow2", () => {
  it("loads with the manifest loader: os.image is the qcow2 by file:/// URL, sha512 and size; os.boot the image's; pins as baked", async () => {
    const source = await loadManifest(path.join(PROJECT_ROOT, "manifests", "knd.debian-13.amd64.json"));
    const qcow2 = await bakedQcow2();
    const written = await writePodplaneManifest({ qcow2, manifest: source, boot: BOOT });
    expect(written.file).toBe(path.join(path.dirname(qcow2), "podplane-knd-debian-13-amd64-1b08a7c915d1.manifest", "knd.debian-13.amd64.json"));
    expect(written.file).toBe(podplaneManifestPath(qcow2, source));
    const loaded = await loadManifest(written.file);
    const content = "not really a qcow2, but bytes with a digest";
    expect(loaded.lock.vmconfig.os.image).toEqual({
      version: "podplane-knd-debian-13-amd64-1b08a7c915d1",
      url: pathToFileURL(qcow2).href,
      type: "qcow2",
      digest: `sha512:${createHash("sha512").update(content).digest("hex")}`,
      size: Buffer.byteLength(content),
    });
    expect(loaded.lock.vmconfig.os.image.url).toContain("/out%20dir/images/");
    expect(loaded.lock.vmconfig.os.boot).toEqual(BOOT);
    expect(loaded.kind).toBe("knd");
    expect(loaded.arch).toBe("amd64");
    expect(loaded.dependencies.map((d) => [d.name, d.version, d.digest])).toEqual(source.dependencies.map((d) => [d.name, d.version, d.digest]));
    expect(loaded.images).toEqual(source.images);
    // Podplane's format exactly: no key of our own (trust) and the same top-level shape.
    const raw = JSON.parse(await readFile(written.file, "utf8")) as { vmconfig: Record<string, unknown> };
    expect(Object.keys(raw.vmconfig).sort()).toEqual(["dependencies", "images", "kind", "os", "version"]);
  });

  it("drops our own trust field from the pins", async () => {
    const source = await loadManifest(path.join(PROJECT_ROOT, "manifests", "knc.debian-13.amd64.json"));
    const [name, entry] = Object.entries(source.lock.vmconfig.dependencies).find(([, e]) => e.digest !== "") ?? [];
    if (!name || !entry) throw new Error("the knc manifest has no pinned dependency");
    const trusted = { ...source, lock: { vmconfig: { ...source.lock.vmconfig, dependencies: { ...source.lock.vmconfig.dependencies, [name]: { ...entry, trust: "mirror" as const } } } } };
    const written = await writePodplaneManifest({ qcow2: await bakedQcow2(), manifest: trusted, boot: BOOT });
    expect(written.lock.vmconfig.dependencies[name]).not.toHaveProperty("trust");
    expect(written.lock.vmconfig.dependencies[name]?.digest).toBe(entry.digest);
  });

  it("with --publish-url: os.image.url is the qcow2's name under it", async () => {
    const source = await loadManifest(path.join(PROJECT_ROOT, "manifests", "knd.debian-13.amd64.json"));
    const written = await writePodplaneManifest({ qcow2: await bakedQcow2(), manifest: source, boot: BOOT, publishUrl: "https://images.example.test/podplane/" });
    expect(written.lock.vmconfig.os.image.url).toBe("https://images.example.test/podplane/podplane-knd-debian-13-amd64-1b08a7c915d1.qcow2");
    expect((await loadManifest(written.file)).baseImage.url).toBe(written.lock.vmconfig.os.image.url);
  });

  it("a bad --publish-url is a usage error naming it", () => {
    expect(() => parsePublishUrl("ftp://x/y")).toThrow(UsageError);
    expect(() => parsePublishUrl("not a url")).toThrow(/--publish-url "not a url": expected an http\(s\) URL/);
    expect(parsePublishUrl("http://127.0.0.1:8080/images/")).toBe("http://127.0.0.1:8080/images");
  });

  it("the loader still refuses other URL schemes for os.image, and a relative file URL", () => {
    const text = (url: string): string =>
      JSON.stringify({
        vmconfig: {
          version: "dev",
          kind: "knd",
          os: { name: "debian-13", arch: "amd64", image: { version: "1", url, type: "qcow2", digest: `sha512:${"c".repeat(128)}`, size: 1 } },
          dependencies: {},
          images: [],
        },
      });
    expect(parseManifest("knd.debian-13.amd64.json", text("file:///var/images/x.qcow2")).problems).toEqual([]);
    expect(parseManifest("knd.debian-13.amd64.json", text("ftp://host/x.qcow2")).problems.join("\n")).toMatch(/vmconfig\.os\.image\.url: expected an http\(s\) URL, a file:\/\/\/ URL/);
    expect(parseManifest("knd.debian-13.amd64.json", text("file://relative/x.qcow2")).problems).not.toEqual([]);
  });
});
