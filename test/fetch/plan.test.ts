import path from "node:path";
import { describe, expect, it } from "vitest";
import { AggregateWorkError } from "../../pipeline/errors/index.js";
import { isRetriable, mirrorRelativePath, planFetch, resolveSource } from "../../pipeline/fetch/index.js";
import { loadManifests } from "../../pipeline/manifest/index.js";
import { REPO } from "./helpers.js";

const MANIFESTS = path.join(REPO, "manifests");

describe("planning a fetch", () => {
  it("dedupes by digest across kinds, keeps arches apart, refuses every unpinned entry at once", async () => {
    const manifests = await loadManifests(MANIFESTS);
    let error: unknown;
    try {
      planFetch(manifests);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AggregateWorkError);
    expect((error as AggregateWorkError).errors.map((e) => e.message.split(": ")[1])).toEqual(Array(4).fill("kube2iam 0.11.2 is not pinned (no digest); run `podplane-images pin kube2iam@0.11.2` with access to upstream or a mirror"));

    const jobs = planFetch(manifests, { unpinned: "skip", includeBaseImage: true });
    const kubelet = jobs.filter((j) => j.name === "kubelet");
    expect(kubelet.map((j) => [j.kinds, j.arches])).toEqual([
      [["knd", "knc"], ["amd64"]],
      [["knd", "knc"], ["arm64"]],
    ]);
    expect(jobs.filter((j) => j.name === "kube-apiserver").map((j) => j.kinds)).toEqual([["knc"], ["knc"]]);
    expect(jobs.filter((j) => j.name === "base-image").map((j) => [j.type, j.digest.slice(0, 7), j.kinds.length])).toEqual([
      ["qcow2", "sha512:", 2],
      ["qcow2", "sha512:", 2],
    ]);
    expect(jobs.some((j) => j.name === "vmconfig" || j.name === "kube2iam")).toBe(false);
    // 16 pinned, fetched dependencies of knc plus the base image, per arch; knd's are a subset
    expect(jobs).toHaveLength(2 * (16 + 1));
  });
});

describe("mirror mapping", () => {
  const kubelet = "https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet";
  const deb = "https://deb.debian.org/debian/pool/main/p/postgresql-17/libpq5_17.9-0+deb13u1_amd64.deb";

  it("maps an upstream URL to <mirror>/<host>/<path> for URLs, file:// URLs and directories", () => {
    expect(resolveSource(kubelet)).toEqual({ kind: "http", url: kubelet });
    expect(resolveSource(kubelet, "http://10.0.0.5:8080/mirror/")).toEqual({ kind: "http", url: "http://10.0.0.5:8080/mirror/dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet" });
    expect(resolveSource(kubelet, "file:///srv/mirror")).toEqual({ kind: "file", path: "/srv/mirror/dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubelet" });
    expect(resolveSource(deb, "/srv/mirror")).toEqual({ kind: "file", path: "/srv/mirror/deb.debian.org/debian/pool/main/p/postgresql-17/libpq5_17.9-0+deb13u1_amd64.deb" });
    expect(mirrorRelativePath("https://example.test/a%20b/c")).toBe("example.test/a b/c");
    expect(mirrorRelativePath("https://example.test/a/%2e%2e/%2e%2e/etc/passwd")).toBe("example.test/etc/passwd"); // URL parsing resolves dot segments
    expect(() => mirrorRelativePath("https://example.test/a%2F..%2F..%2Fetc/passwd")).toThrow(/unsafe path/);
  });

  it("retries only timeouts, resets and server errors", () => {
    const http = (status: number) => Object.assign(new Error("x"), { code: "ERR_NON_2XX_3XX_RESPONSE", response: { statusCode: status } });
    expect([500, 502, 503, 429].map((s) => isRetriable(http(s)))).toEqual([true, true, true, true]);
    expect([404, 403, 401].map((s) => isRetriable(http(s)))).toEqual([false, false, false]);
    expect(["ETIMEDOUT", "ECONNRESET", "ERR_STREAM_PREMATURE_CLOSE"].map((code) => isRetriable(Object.assign(new Error(code), { code })))).toEqual([true, true, true]);
    expect(["EINTEGRITY", "EBADSIZE", "ERR_ABORTED"].map((code) => isRetriable(Object.assign(new Error(code), { code })))).toEqual([false, false, false]);
  });
});
