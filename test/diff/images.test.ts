// `diff --images FILE A B` / `diff --out DIR A B`: two records of an images.json compared, with
// the container images of the Podplane manifest beside a qcow2; unknown, ambiguous and
// unreadable inputs exit 2 naming them.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DiffReport } from "../../pipeline/diff/index.js";
import type { ImageRecord } from "../../pipeline/publish/index.js";
import { resetCliStateAfterEach } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";
import { record } from "../publish/records.js";
import { copyManifests, editRelease, runCli, section } from "./fixtures.js";

resetCliStateAfterEach();

const OLD = "podplane-knd-debian-13-amd64-aaaaaaaaaaaa";
const NEW = "podplane-knd-debian-13-amd64-bbbbbbbbbbbb";
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** An out dir with OLD and NEW as qemu images (each with its Podplane manifest) and NEW also as an aws image. */
async function published(): Promise<{ out: string; file: string; records: ImageRecord[] }> {
  const out = await tempDir("diff-images-");
  const before = await copyManifests(path.join(out, "src-old"));
  const after = await copyManifests(path.join(out, "src-new"));
  await editRelease(after);
  const podplaneManifest = async (name: string, src: string) => {
    const dir = path.join(out, "images", `${name}.manifest`);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, "knd.debian-13.amd64.json");
    await writeFile(file, await readFile(path.join(src, "knd.debian-13.amd64.json")));
    return file;
  };
  const base = { source: "debootstrap:trixie-amd64-1.qcow2", digest: digest("e") };
  const records = [
    record({
      name: OLD,
      qemu: { path: path.join(out, "images", `${OLD}.qcow2`), digest: digest("a") },
      dependencies: [
        { name: "kubelet", version: "1.36.1", digest: digest("c") },
        { name: "netsy", version: "1.1.0", digest: digest("7") },
        { name: "runc", version: "1.4.2", digest: digest("8") },
      ],
      vmconfigDigest: digest("d"),
      baseImage: base,
      podplaneManifest: await podplaneManifest(OLD, before),
      createdAt: "2026-11-20T08:00:00.000Z",
    }),
    record({
      name: NEW,
      qemu: { path: path.join(out, "images", `${NEW}.qcow2`), digest: digest("b") },
      dependencies: [
        { name: "kubelet", version: "1.36.2", digest: digest("1") },
        { name: "runc", version: "1.4.2", digest: digest("2") },
        { name: "zot", version: "2.1.17", digest: digest("9") },
      ],
      vmconfigDigest: digest("f"),
      baseImage: base,
      podplaneManifest: await podplaneManifest(NEW, after),
      createdAt: "2026-11-27T08:00:00.000Z",
    }),
  ];
  const asAws: ImageRecord = { ...(records[1] as ImageRecord), target: "aws", amis: { "eu-west-1": "ami-0bbb" } };
  delete asAws.qemu;
  delete asAws.podplaneManifest;
  records.push(asAws);
  const file = path.join(out, "images.json");
  await writeFile(file, `${JSON.stringify({ version: 1, images: records }, null, 2)}\n`);
  return { out, file, records };
}

describe("diff between two published images", () => {
  it("--images FILE A B: dependencies, the vmconfig digest and the container images of the Podplane manifests", async () => {
    const { file } = await published();
    const result = await runCli("diff", "--images", file, OLD, NEW, "--target", "qemu");
    expect(result.code, result.stderr).toBe(0);
    const md = result.stdout;
    expect(md.split("\n")[0]).toBe(`\`${OLD}\` → \`${NEW}\`: 1 of 1 kind × arch changed: 1 added, 1 removed, 1 version change, 1 digest change with the same version, 1 container image change, 1 vmconfig change.`);
    const s = section(md, "knd debian-13 amd64 (qemu)");
    expect(s).toContain(`\`${OLD}\` → \`${NEW}\``);
    expect(s).toContain("| zot | added |  | 2.1.17 (`sha256:999999999999`) |");
    expect(s).toContain("| netsy | removed | 1.1.0 (`sha256:777777777777`) |  |");
    expect(s).toContain("| kubelet | version | 1.36.1 (`sha256:cccccccccccc`) | 1.36.2 (`sha256:111111111111`) |");
    expect(s).toContain("| runc | **digest only** | 1.4.2 (`sha256:888888888888`) | 1.4.2 (`sha256:222222222222`) |");
    expect(s).toContain("| registry.k8s.io/pause | **digest only** | 3.10.2 (`sha256:412c4a7219cb`) | 3.10.2 (`sha256:666666666666`) |");
    expect(s).toContain("vmconfig: `sha256:dddddddddddd` → `sha256:ffffffffffff`");
    expect(s).not.toContain("Base image:");
  });

  it("--out DIR resolves DIR/images.json; --json; --exit-code; an image against itself has no differences", async () => {
    const { out } = await published();
    const result = await runCli("diff", "--out", out, OLD, NEW, "--target", "qemu", "--json", "--exit-code");
    expect(result.code, result.stderr).toBe(1);
    const doc = JSON.parse(result.stdout) as DiffReport;
    expect([doc.from, doc.to]).toEqual([
      { label: OLD, type: "image" },
      { label: NEW, type: "image" },
    ]);
    expect(doc.groups).toHaveLength(1);
    expect(doc.groups[0]).toMatchObject({ kind: "knd", os: "debian-13", arch: "amd64", target: "qemu", status: "changed", from: OLD, to: NEW, baseImage: null, vmconfig: { from: { digest: digest("d") }, to: { digest: digest("f") } } });
    expect(doc.summary).toMatchObject({ componentsAdded: 1, componentsRemoved: 1, versionChanged: 1, digestChanged: 1, containerImagesChanged: 1 });
    const same = await runCli("diff", "--out", out, NEW, NEW, "--target", "qemu", "--exit-code");
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toBe(`No differences between \`${NEW}\` → \`${NEW}\` (1 kind × arch compared).\n`);
  });

  it("an aws record keeps no container images: they are not compared, and the notes say so", async () => {
    const { file } = await published();
    const result = await runCli("diff", "--images", file, OLD, NEW, "--target", "aws");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ENOIMAGE: ${OLD}: no image of that name with target aws (it has qemu) in ${file}`);
    const mixed = await runCli("diff", "--images", file, NEW, NEW, "--target", "aws", "--json");
    const doc = JSON.parse(mixed.stdout) as DiffReport;
    expect(doc.groups[0]?.containerImages).toMatchObject({ compared: false, missingOn: "both" });
    expect(doc.changed).toBe(false);
    const text = await runCli("diff", "--images", file, NEW, NEW, "--target", "aws");
    expect(text.stdout).toBe(`No differences between \`${NEW}\` → \`${NEW}\` (1 kind × arch compared; container images not recorded, not compared).\n`);
  });

  it("exit 2 naming it: an unknown name, a name of two targets without --target, no images.json, conflicting flags", async () => {
    const { out, file } = await published();
    let r = await runCli("diff", "--images", file, OLD, "podplane-knd-nope");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ENOIMAGE: podplane-knd-nope: no image of that name in ${file}`);
    r = await runCli("diff", "--images", file, OLD, NEW);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`EAMBIGUOUS: ${NEW}: ${file} has it for targets qemu and aws; choose one with --target`);
    r = await runCli("diff", "--out", path.join(out, "nothing"), OLD, NEW);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(out, "nothing", "images.json")}: cannot read it (ENOENT)`);
    r = await runCli("diff", "--images", file, "--out", out, OLD, NEW);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--images FILE and --out DIR both name an images.json; give one");
    r = await runCli("diff", "--images", file, OLD, NEW, "--kind", "knd");
    expect(r.code).toBe(2);
  });
});
