// A signed apt repository built at test time, in the layout apt reads: pool/ with real .debs
// (dpkg-deb), dists/<suite>/<component>/binary-<arch>/Packages(.gz|.xz) and an InRelease
// clear-signed by a test key, listing every index by SHA256. Returned as upstream URL → bytes so
// a suite serves it from a fixture server in mirror layout.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import type { TestKey, TestSigner } from "./pgp-fixtures.js";

export interface DebSpec {
  name: string;
  /** The Packages version (may carry an epoch, e.g. `1:4.17.4-2`); the file name drops it. */
  version: string;
  arch: string;
  /** Relative to the archive root, e.g. `pool/main/s/shadow/uidmap_4.17.4-2_amd64.deb`. */
  filename: string;
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A minimal real .deb (control + one file) made with dpkg-deb. */
export async function buildDeb(workDir: string, spec: DebSpec): Promise<Buffer> {
  const root = path.join(workDir, `${spec.name}-${spec.arch}`);
  await mkdir(path.join(root, "DEBIAN"), { recursive: true });
  await mkdir(path.join(root, "usr/share/doc", spec.name), { recursive: true });
  await writeFile(
    path.join(root, "DEBIAN/control"),
    `Package: ${spec.name}\nVersion: ${spec.version}\nArchitecture: ${spec.arch}\nMaintainer: Test <test@example.test>\nDescription: test package ${spec.name}\n`,
  );
  await writeFile(path.join(root, "usr/share/doc", spec.name, "README"), `${spec.name} ${spec.version} ${spec.arch}\n`);
  const out = path.join(workDir, `${spec.name}_${spec.arch}.deb`);
  await execa("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, out]);
  return readFile(out);
}

export function packagesStanza(spec: DebSpec, bytes: Buffer): string {
  return [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Architecture: ${spec.arch}`,
    `Maintainer: Test <test@example.test>`,
    `Filename: ${spec.filename}`,
    `Size: ${bytes.length}`,
    `SHA256: ${sha256(bytes)}`,
    `Description: test package ${spec.name}`,
    "",
  ].join("\n");
}

export interface AptRepoOptions {
  /** Upstream archive root with a trailing slash, e.g. `https://deb.debian.org/debian/`. */
  root: string;
  suite: string;
  component?: string;
  arches: readonly string[];
  debs: readonly { spec: DebSpec; bytes: Buffer }[];
  signer: TestSigner;
  keys: readonly TestKey[];
  /** Which Packages forms are served (InRelease always lists the plain one too, as Debian's does). */
  compression?: "gz" | "xz" | "plain";
  /** Extra Release fields (e.g. `Valid-Until: ...`). */
  releaseFields?: string;
}

export interface AptRepo {
  files: Map<string, Buffer>;
  inReleaseUrl: string;
  /** Packages index URL actually served per arch. */
  packagesUrl: (arch: string) => string;
  releaseText: string;
  /** The uncompressed Packages index per arch (listed in InRelease; served only with compression "plain"). */
  plainPackages: Map<string, Buffer>;
}

export async function buildAptRepo(options: AptRepoOptions): Promise<AptRepo> {
  const component = options.component ?? "main";
  const compression = options.compression ?? "gz";
  const suiteUrl = `${options.root}dists/${options.suite}/`;
  const files = new Map<string, Buffer>();
  const sums: string[] = [];
  const served = new Map<string, string>();
  const plainPackages = new Map<string, Buffer>();
  for (const { spec, bytes } of options.debs) files.set(`${options.root}${spec.filename}`, bytes);
  for (const arch of options.arches) {
    const plain = Buffer.from(options.debs.filter((d) => d.spec.arch === arch).map((d) => packagesStanza(d.spec, d.bytes)).join("\n"));
    const base = `${component}/binary-${arch}/Packages`;
    plainPackages.set(arch, plain);
    sums.push(` ${sha256(plain)} ${plain.length} ${base}`);
    let body: Buffer = plain;
    let name = base;
    if (compression === "gz") {
      body = gzipSync(plain);
      name = `${base}.gz`;
    } else if (compression === "xz") {
      body = Buffer.from((await execa("xz", ["-c"], { input: plain, encoding: "buffer" })).stdout);
      name = `${base}.xz`;
    }
    if (name !== base) sums.push(` ${sha256(body)} ${body.length} ${name}`);
    files.set(`${suiteUrl}${name}`, body);
    served.set(arch, `${suiteUrl}${name}`);
  }
  const releaseText = [
    "Origin: Test",
    "Label: Test",
    "Suite: stable",
    `Codename: ${options.suite}`,
    "Date: Sat, 01 Nov 2026 10:00:00 UTC",
    ...(options.releaseFields ? [options.releaseFields] : []),
    `Architectures: ${options.arches.join(" ")}`,
    `Components: ${component}`,
    "Description: test archive",
    "SHA256:",
    ...sums,
    "",
  ].join("\n");
  files.set(`${suiteUrl}InRelease`, Buffer.from(await options.signer.clearsign(releaseText, options.keys)));
  return { files, inReleaseUrl: `${suiteUrl}InRelease`, packagesUrl: (arch) => served.get(arch) ?? "", releaseText, plainPackages };
}
