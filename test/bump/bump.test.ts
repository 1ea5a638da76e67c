// bump against fixture listings served on 127.0.0.1 as a mirror: every source kind, tag shapes,
// prereleases and drafts skipped, dpkg ordering per arch, a failing source reported per row,
// exit codes (unknown names 2, --check 1, every source failed 1), a directory mirror, and a
// registry that wants an anonymous bearer token.
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import type { BumpRow } from "../../pipeline/bump/index.js";
import { githubSourceOf } from "../../pipeline/bump/index.js";
import { CATALOG } from "../../pipeline/catalog/index.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { copiedManifests } from "../fetch/helpers.js";
import { startFixtureServer } from "../fixtures/http-server.js";
import { buildFixtureImage } from "../oci/image-fixture.js";
import { startFakeRegistry } from "../oci/fake-registry.js";
import { serveListings, writeListings } from "./upstream-fixture.js";

resetCliStateAfterEach();

/** The CLI in this process; a previous call's exit code must not leak into the next. */
function cli(...args: string[]) {
  process.exitCode = undefined;
  return runCli(...args);
}

async function setup(skip: readonly string[] = []) {
  const { dir, manifestsDir: manifests } = await copiedManifests("pp-bump-");
  const mirror = await startFixtureServer();
  onTestFinished(() => mirror.close());
  serveListings(mirror, skip);
  const bump = (...args: string[]) => cli("bump", "--manifests", manifests, "--mirror", mirror.url, "--cache", path.join(dir, "cache"), ...args);
  return { dir, manifests, mirror, bump };
}

interface Doc {
  ok: boolean;
  counts: Record<string, number>;
  dependencies: BumpRow[];
}

function rowsOf(stdout: string): Doc {
  return JSON.parse(stdout) as Doc;
}

/** name → "current→newest status [kind:arches]" for compact assertions. */
function summary(doc: Doc): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const row of doc.dependencies) {
    const where = row.manifests.map((m) => `${m.kind}/${m.arch}`).join(",");
    (out[row.name] ??= []).push(`${row.current}→${row.newest ?? "?"} ${row.status} ${where}`);
  }
  return out;
}

const ALL = "knc/amd64,knc/arm64,knd/amd64,knd/arm64";
const KNC = "knc/amd64,knc/arm64";

describe("bump", () => {
  it("finds the newest version of every dependency and image from its source, per manifest", async () => {
    const { bump, mirror } = await setup();
    const result = await bump("--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = rowsOf(result.stdout);
    expect(summary(doc)).toEqual({
      "cni-plugins": [`1.9.1→1.10.0 newer ${ALL}`],
      containerd: [`2.3.1→2.3.2 newer ${ALL}`],
      crictl: [`1.36.0→1.36.0 up-to-date ${ALL}`],
      "fluent-bit": [`5.0.5→5.0.10 newer ${ALL}`],
      "kube-apiserver": [`1.36.1→1.36.3 newer ${KNC}`],
      "kube-controller-manager": [`1.36.1→1.36.3 newer ${KNC}`],
      "kube-scheduler": [`1.36.1→1.36.3 newer ${KNC}`],
      kube2iam: [`0.11.2→0.11.3 newer ${ALL}`],
      kubectl: [`1.36.1→1.36.3 newer ${KNC}`],
      kubelet: [`1.36.1→1.36.3 newer ${ALL}`],
      libpq5: [`17.9-0+deb13u1→17.10-0+deb13u1 newer ${ALL}`],
      // a new revision on amd64 only: one row per outcome
      libsubid5: ["4.17.4-2→4.17.4-3 newer knc/amd64,knd/amd64", "4.17.4-2→4.17.4-2 up-to-date knc/arm64,knd/arm64"],
      netsy: [`1.1.0→1.1.0 up-to-date ${KNC}`],
      "nstance-agent": [`1.2.3→1.2.3 up-to-date ${ALL}`],
      "registry.k8s.io/pause": [`3.10.2→3.10.2 up-to-date ${ALL}`],
      runc: [`1.4.2→1.4.2 up-to-date ${ALL}`],
      // the index says 1:4.17.4-2; the manifest's version carries no epoch and is the same
      uidmap: [`4.17.4-2→4.17.4-2 up-to-date ${ALL}`],
      zot: [`2.1.17→2.1.17 up-to-date ${ALL}`],
    });
    expect(doc.ok).toBe(true);
    expect(doc.counts).toEqual({ newer: 11, "up-to-date": 8, unknown: 0 });
    expect(doc.dependencies.find((r) => r.name === "containerd")?.from).toBe(`${mirror.url}/api.github.com/repos/containerd/containerd/releases`);
    // every listing read once, however many manifests and packages share it
    expect(mirror.count("/api.github.com/repos/containerd/containerd/releases")).toBe(1);
    expect(mirror.count("/deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages.gz")).toBe(1);
    expect(mirror.count("/dl.k8s.io/release/stable-1.36.txt")).toBe(1);
    expect(mirror.count("/dl.k8s.io/release/stable.txt")).toBe(0);
  });

  it("prints a table of name, manifests, current, newest and status; --minor looks past the pinned Kubernetes minor", async () => {
    const { bump } = await setup();
    const result = await bump("kubernetes", "runc", "--minor");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split("\n").map((l) => l.replace(/\s+/g, " ").trim());
    expect(lines[0]).toBe("NAME MANIFEST(S) CURRENT NEWEST STATUS");
    expect(lines).toContain("kubelet knc:amd64,arm64 knd:amd64,arm64 1.36.1 1.37.1 newer");
    expect(lines).toContain("kubectl knc:amd64,arm64 1.36.1 1.37.1 newer");
    expect(lines).toContain("runc knc:amd64,arm64 knd:amd64,arm64 1.4.2 1.4.2 up-to-date");
    expect(lines).toContain("5 newer, 1 up to date, 0 unknown");
  });

  it("--check exits 1 when anything is out of date and 0 when the selection is current", async () => {
    const { bump } = await setup();
    const stale = await bump("containerd", "runc", "--check");
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("out of date: containerd 2.3.1 → 2.3.2");
    const current = await bump("runc", "zot", "pause", "--check", "--json");
    expect(current.code, current.stderr).toBe(0);
    expect(rowsOf(current.stdout).counts).toEqual({ newer: 0, "up-to-date": 3, unknown: 0 });
  });

  it("exits 2 naming every unknown name, before any request", async () => {
    const { bump, mirror } = await setup();
    const result = await bump("kubelet", "kubelett", "pause", "no-such-thing");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/EUNKNOWNDEP: unknown dependency or image "kubelett", "no-such-thing"; expected one of kubernetes, kubelet/);
    expect(mirror.count()).toBe(0);
    const absent = await bump("netsy", "--kind", "knd");
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('not in the selected manifests: "netsy"');
  });

  it("reports a source that cannot be read as unknown with the reason, and the rest as usual", async () => {
    const { bump, mirror } = await setup(["api.github.com/repos/containerd", "deb.debian.org"]);
    mirror.route("/api.github.com/repos/opencontainers/runc/releases", (_req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end('{"message":"API rate limit exceeded"}');
    });
    mirror.file("/api.github.com/repos/containernetworking/plugins/releases", "<html>not json</html>");
    const result = await bump("--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = rowsOf(result.stdout);
    const row = (name: string) => doc.dependencies.find((r) => r.name === name);
    expect(row("containerd")).toMatchObject({ status: "unknown", newest: null, source: "github" });
    expect(row("containerd")?.reason).toMatch(/^containerd\/containerd releases: not found \(HTTP 404\): http:\/\/127\.0\.0\.1:\d+\/api\.github\.com\/repos\/containerd\/containerd\/releases$/);
    expect(row("runc")?.reason).toMatch(/HTTP 403/);
    expect(row("cni-plugins")?.reason).toMatch(/not a JSON release listing/);
    for (const name of ["libpq5", "uidmap", "libsubid5"]) expect(row(name)?.reason, name).toMatch(/Packages index \(amd64|arm64\): not found/);
    expect(row("zot")).toMatchObject({ status: "up-to-date", newest: "2.1.17" });
    expect(row("kubelet")).toMatchObject({ status: "newer", newest: "1.36.3" });
    expect(doc.ok).toBe(true);

    const text = await bump("containerd", "zot");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/unknown: containerd 2\.3\.1 \(knc:amd64,arm64 knd:amd64,arm64\): containerd\/containerd releases: not found/);
  });

  it("exits 1 when every source failed", async () => {
    const { bump } = await setup([""]);
    const result = await bump("--json");
    expect(result.code).toBe(1);
    const doc = rowsOf(result.stdout);
    expect(doc.ok).toBe(false);
    // 18 dependencies and the image; each .deb once per arch (one Packages index each)
    expect(doc.counts).toEqual({ newer: 0, "up-to-date": 0, unknown: 22 });
    expect(result.stderr).toContain("EUPSTREAM: no upstream source could be read");
  });

  it("reads the same listings from a mirror directory", async () => {
    const { dir, manifests } = await setup();
    const mirrorDir = path.join(dir, "mirror");
    await writeListings(mirrorDir);
    const result = await cli("bump", "kube2iam", "fluent-bit", "pause", "--manifests", manifests, "--mirror", mirrorDir, "--json");
    expect(result.code, result.stderr).toBe(0);
    const doc = rowsOf(result.stdout);
    expect(summary(doc)).toEqual({
      "fluent-bit": [`5.0.5→5.0.10 newer ${ALL}`],
      kube2iam: [`0.11.2→0.11.3 newer ${ALL}`],
      "registry.k8s.io/pause": [`3.10.2→3.10.2 up-to-date ${ALL}`],
    });
    expect(doc.dependencies.find((r) => r.name === "registry.k8s.io/pause")?.from).toBe(path.join(mirrorDir, "registry.k8s.io/v2/pause/tags/list"));
  });

  it("reads a registry's tags list with the anonymous bearer token the registry asks for", async () => {
    const { manifests } = await setup();
    const registry = await startFakeRegistry("pause", await buildFixtureImage(["amd64", "arm64"]), { token: "tags-token" });
    onTestFinished(() => registry.close());
    registry.override("pause", "tags" as "manifests", "list", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "pause", tags: ["3.10.1", "3.10.2", "3.11.0-rc.0", "latest"] }));
    });
    for (const name of await readdir(manifests)) {
      const file = path.join(manifests, name);
      await writeFile(file, (await readFile(file, "utf8")).replace("registry.k8s.io/pause:3.10.2", `${registry.registry}/pause:3.10.1`));
    }
    const result = await cli("bump", "pause", "--manifests", manifests, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(summary(rowsOf(result.stdout))).toEqual({ [`${registry.registry}/pause`]: [`3.10.1→3.10.2 newer ${ALL}`] });
    const seen = registry.authorizations.filter((a) => a.path === "/v2/pause/tags/list").map((a) => a.authorization);
    expect(seen).toEqual([undefined, "Bearer tags-token"]);
  });
});

describe("bump sources", () => {
  it("derives owner/repo and the tag shape of every GitHub-released dependency from the catalog's URL", () => {
    const shapes: Record<string, string> = {};
    for (const entry of CATALOG) {
      const source = githubSourceOf(entry);
      if (source?.kind === "github") shapes[entry.name] = `${source.owner}/${source.repo} ${source.shape.prefix}V${source.shape.suffix}`;
    }
    expect(shapes).toEqual({
      containerd: "containerd/containerd vV",
      runc: "opencontainers/runc vV",
      "cni-plugins": "containernetworking/plugins vV",
      crictl: "kubernetes-sigs/cri-tools vV",
      zot: "project-zot/zot vV",
      netsy: "netsy-dev/netsy vV",
      "nstance-agent": "nstance-dev/nstance vV",
      kube2iam: "podplane/kube2iam-binaries V",
    });
  });
});
