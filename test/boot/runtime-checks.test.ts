// The three runtime checks (issue 9 item 5) on a healthy runtime snapshot, then on copies broken
// one way at a time: each check must fail on its own kind of breakage. The outputs below are the
// real tools' formats (ctr 2.1 plugins/images/content ls, runc 1.3 --version, CNI VERSION).
import { describe, expect, it } from "vitest";
import { checkContainerRuns, checkImagesPreloaded, checkRuntimeReady, CHECK_NAMES, type ImageCheck, type PinnedImage } from "../../pipeline/boot/checks.js";
import type { CommandResult, RuntimeSnapshot } from "../../pipeline/boot/probe.js";

const INDEX = `sha256:${"1".repeat(64)}`;
const MANIFEST = `sha256:${"2".repeat(64)}`;
const CONFIG = `sha256:${"3".repeat(64)}`;
const LAYER = `sha256:${"4".repeat(64)}`;
const PAUSE: PinnedImage = { image: "registry.k8s.io/pause:3.10.2", index: INDEX, digest: MANIFEST, platform: "linux/amd64" };

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: "" });

const CONFIG_TOML = `version = 3
oom_score = -999

[plugins]
  [plugins."io.containerd.cri.v1.runtime"]
    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          BinaryName = "/usr/local/sbin/runc"
          SystemdCgroup = true
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = ["/opt/cni/bin"]
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.cri.v1.images"]
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "registry.k8s.io/pause:3.10.2"
`;

const PLUGINS = `TYPE                                      ID                       PLATFORMS      STATUS
io.containerd.content.v1                  content                  -              ok
io.containerd.snapshotter.v1              overlayfs                linux/amd64    ok
io.containerd.cri.v1                      images                   -              ok
io.containerd.cri.v1                      runtime                  linux/amd64    ok
io.containerd.grpc.v1                     cri                      -              ok
`;

const IMAGES = `REF                          TYPE                                    DIGEST                                                                  SIZE    PLATFORMS               LABELS
registry.k8s.io/pause:3.10.2 application/vnd.oci.image.index.v1+json ${INDEX} 1.0 MiB linux/amd64,linux/arm64 io.cri-containerd.pinned=pinned
`;

const CNI_VERSION = ok('{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}');

function healthyRuntime(): RuntimeSnapshot {
  const content = ok(`${CONFIG}\n${INDEX}\n${LAYER}\n${MANIFEST}\n`);
  return {
    unit: { Id: "containerd.service", ActiveState: "active", SubState: "running", MainPID: "612", NRestarts: "0" },
    argv: ["/usr/local/bin/containerd", "--config=/etc/containerd/config.toml"],
    config: CONFIG_TOML,
    installed: JSON.stringify({ kind: "knd", artifacts: [], images: [{ ...PAUSE, preloaded: true }], units: [] }),
    plugins: ok(PLUGINS),
    runc: ok("runc version 1.3.6+ds1\ncommit: v1.3.6\nspec: 1.2.1\ngo: go1.24\nlibseccomp: 2.6.0\n"),
    cni: { bridge: CNI_VERSION, "host-local": CNI_VERSION, loopback: CNI_VERSION, portmap: CNI_VERSION },
    images: ok(IMAGES),
    imagesAfter: ok(IMAGES),
    content,
    contentAfter: content,
    run: { ...ok("pause.c stand-in v3.10.2 (busybox)\n"), image: PAUSE.image, args: ["/pause", "-v"] },
    route: ok("default via 10.0.2.2 dev ens3 proto dhcp src 10.0.2.15 metric 1024\n"),
  };
}

function broken(change: (r: RuntimeSnapshot) => void): RuntimeSnapshot {
  const copy = structuredClone(healthyRuntime());
  change(copy);
  return copy;
}

function failsWith(result: ImageCheck, text: string | RegExp): void {
  expect(result.ok, result.evidence).toBe(false);
  if (typeof text === "string") expect(result.evidence).toContain(text);
  else expect(result.evidence).toMatch(text);
}

const PAUSE_OUTPUT = /pause/;

describe("the runtime checks on a healthy runtime", () => {
  it("all pass, each saying what it saw", () => {
    const runtime = healthyRuntime();
    const ready = checkRuntimeReady(runtime);
    const preloaded = checkImagesPreloaded(runtime, [PAUSE]);
    const runs = checkContainerRuns(runtime, PAUSE_OUTPUT);
    for (const result of [ready, preloaded, runs]) expect(result.ok, result.evidence).toBe(true);
    expect([ready.name, preloaded.name, runs.name]).toEqual([CHECK_NAMES.runtimeReady, CHECK_NAMES.imagesPreloaded, CHECK_NAMES.containerRuns]);
    expect([ready.name, preloaded.name, runs.name]).toEqual(["runtime-ready", "images-preloaded", "container-runs"]);
    expect(ready.evidence).toContain("CRI plugin io.containerd.grpc.v1.cri ok");
    expect(ready.evidence).toContain("runc 1.3.6+ds1");
    expect(ready.evidence).toContain("CNI plugins answer VERSION: bridge, host-local, loopback, portmap");
    expect(preloaded.evidence).toContain("CRI sandbox image registry.k8s.io/pause:3.10.2");
    expect(runs.evidence).toContain("nothing pulled");
  });
});

describe("runtime-ready fails", () => {
  it.each<[string, (r: RuntimeSnapshot) => void, string | RegExp]>([
    ["containerd is not running", (r) => (r.unit = { ...r.unit, ActiveState: "activating", SubState: "auto-restart" }), "containerd.service is activating/auto-restart"],
    ["containerd keeps restarting", (r) => (r.unit.NRestarts = "4"), "containerd restarted 4 times"],
    ["containerd runs without the room's config", (r) => (r.argv = ["/usr/local/bin/containerd"]), "containerd runs with no --config"],
    ["the config is version 2 (containerd 1.x)", (r) => (r.config = (r.config ?? "").replace("version = 3", "version = 2")), "is not config version 3"],
    ["the config points at another runc", (r) => (r.config = (r.config ?? "").replace("/usr/local/sbin/runc", "/usr/bin/runc")), "does not run runc from /usr/local/sbin/runc"],
    ["the config is missing", (r) => (r.config = null), "/etc/containerd/config.toml is missing"],
    ["the CRI plugin did not load", (r) => (r.plugins = ok(PLUGINS.replace(/(io\.containerd\.grpc\.v1\s+cri\s+-\s+)ok/, "$1error"))), "the CRI plugin is not ok: io.containerd.grpc.v1 cri - error"],
    ["the CRI plugin is absent", (r) => (r.plugins = ok(PLUGINS.split("\n").filter((l) => !l.startsWith("io.containerd.grpc.v1")).join("\n"))), "shows no io.containerd.grpc.v1 cri plugin"],
    ["ctr cannot reach containerd", (r) => (r.plugins = { code: 1, stdout: "", stderr: "ctr: failed to dial \"/run/containerd/containerd.sock\": connection refused\n" }), /ctr plugins ls: exit 1: ctr: failed to dial/],
    ["runc does not run (a libc too old)", (r) => (r.runc = { code: 1, stdout: "", stderr: "/usr/local/sbin/runc: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found\n" }), /runc --version: exit 1: .*GLIBC_2\.38/],
    ["runc is a stand-in that answers something else", (r) => (r.runc = ok("runc stand-in\n")), "/usr/local/sbin/runc --version: exit 0"],
    ["the bridge plugin does not answer VERSION", (r) => (r.cni.bridge = { code: 1, stdout: "", stderr: "exec format error" }), "/opt/cni/bin/bridge with CNI_COMMAND=VERSION: exit 1"],
    ["a CNI plugin prints no supportedVersions", (r) => (r.cni.portmap = ok("CNI portmap plugin v1.9.1\n")), "/opt/cni/bin/portmap with CNI_COMMAND=VERSION"],
    ["a CNI plugin is missing", (r) => delete r.cni.loopback, "/opt/cni/bin/loopback with CNI_COMMAND=VERSION: not asked"],
  ])("when %s", (_label, change, text) => {
    failsWith(checkRuntimeReady(broken(change)), text);
  });
});

describe("images-preloaded fails", () => {
  it.each<[string, (r: RuntimeSnapshot) => void, string | RegExp]>([
    ["the image is not in namespace k8s.io", (r) => (r.images = ok(IMAGES.split("\n")[0] ?? "")), "registry.k8s.io/pause:3.10.2 is not in containerd's namespace k8s.io"],
    ["the image points at another index", (r) => (r.images = ok(IMAGES.replace(INDEX, `sha256:${"9".repeat(64)}`))), `points at sha256:${"9".repeat(64)}, pinned index ${INDEX}`],
    ["the platform manifest is not in the content store", (r) => (r.content = ok(`${INDEX}\n${LAYER}\n`)), `its platform manifest ${MANIFEST} is not in the content store`],
    ["the sandbox image goes through the registry mirror", (r) => (r.config = (r.config ?? "").replace('sandbox = "', 'sandbox = "registry.example.com/mirror/')), 'the CRI sandbox image is "registry.example.com/mirror/registry.k8s.io/pause:3.10.2"'],
    ["no sandbox image is pinned", (r) => (r.config = (r.config ?? "").replace(/.*sandbox = .*\n/, "")), "the CRI sandbox image is containerd's default"],
    ["installed.json does not list the image", (r) => (r.installed = JSON.stringify({ kind: "knd", artifacts: [], units: [] })), "installed.json does not list registry.k8s.io/pause:3.10.2 as preloaded"],
    ["ctr cannot list images", (r) => (r.images = { code: 1, stdout: "", stderr: "ctr: connection refused" }), /ctr -n k8s\.io images ls: exit 1/],
  ])("when %s", (_label, change, text) => {
    failsWith(checkImagesPreloaded(broken(change), [PAUSE]), text);
  });

  it("when the manifest pins an image the VM does not have, or pins nothing", () => {
    failsWith(checkImagesPreloaded(healthyRuntime(), [PAUSE, { image: "registry.k8s.io/coredns/coredns:v1.12.0", index: INDEX, digest: MANIFEST }]), "registry.k8s.io/coredns/coredns:v1.12.0 is not in containerd's namespace k8s.io");
    failsWith(checkImagesPreloaded(healthyRuntime(), []), "no image is pinned");
  });
});

describe("container-runs fails", () => {
  it.each<[string, (r: RuntimeSnapshot) => void, string | RegExp]>([
    ["the container does not start", (r) => (r.run = { code: 1, stdout: "", stderr: 'ctr: failed to create shim task: OCI runtime create failed: unable to start container process: exec: "/pause": permission denied\n', image: PAUSE.image, args: ["/pause", "-v"] }), /ctr run --rm registry\.k8s\.io\/pause:3\.10\.2 \/pause -v: exit 1: .*OCI runtime create failed/],
    ["the container prints something else", (r) => (r.run = { ...ok("hello\n"), image: PAUSE.image, args: ["/pause", "-v"] }), 'printed "hello\\n", expected /pause/'],
    ["the image had to be pulled", (r) => (r.images = ok(IMAGES.split("\n")[0] ?? "")), "was not in namespace k8s.io before the run"],
    ["content was fetched during the run", (r) => (r.contentAfter = ok(`${r.content.stdout}sha256:${"5".repeat(64)}\n`)), "the content store changed during the run"],
    ["no container ran", (r) => (r.run = null), "no container was run"],
  ])("when %s", (_label, change, text) => {
    failsWith(checkContainerRuns(broken(change), PAUSE_OUTPUT), text);
  });
});
