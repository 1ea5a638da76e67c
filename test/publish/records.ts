// A complete images.json record with fixed digests, for publish/merge tests to vary one field of.
import type { ImageRecord } from "../../pipeline/publish/index.js";

export function record(over: Partial<ImageRecord>): ImageRecord {
  return {
    name: "podplane-knd-debian-13-amd64-aaaaaaaaaaaa",
    kind: "knd",
    arch: "amd64",
    os: "debian-13",
    target: "qemu",
    inputHash: "a".repeat(64),
    qemu: { path: "/out/images/podplane-knd-debian-13-amd64-aaaaaaaaaaaa.qcow2", digest: `sha256:${"b".repeat(64)}` },
    dependencies: [{ name: "kubelet", version: "1.36.1", digest: `sha256:${"c".repeat(64)}` }],
    vmconfigDigest: `sha256:${"d".repeat(64)}`,
    baseImage: { source: "debootstrap:x.qcow2", digest: `sha256:${"e".repeat(64)}` },
    size: 1000,
    buildSeconds: 200,
    packerVersion: "1.6.6",
    createdAt: "2026-11-25T08:00:00.000Z",
    ...over,
  };
}
