// The benchmark's baseline: today's boot-time install as one user-data script. On a plain base
// VM it downloads every artifact of the kind (plus vmconfig.tar.gz) from the mirror that the VM
// reaches through a guestfwd, lets install.sh verify the digests and install everything, then
// runs the very same slim user-data the baked image gets (write user-data.env, configure.sh).
import path from "node:path";
import type { Manifest } from "../pipeline/manifest/index.js";

/** Where the VM sees the loopback mirror (QEMU guestfwd → socat → 127.0.0.1:PORT). */
export const GUEST_MIRROR = { host: "10.0.2.100", port: 80 } as const;

export function guestMirrorForward(hostPort: number): string {
  return `tcp:${GUEST_MIRROR.host}:${GUEST_MIRROR.port}-cmd:socat STDIO TCP:127.0.0.1:${hostPort}`;
}

const STAGE = "/var/lib/podplane-stage";

function mirrorPath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

export function renderBootTimeInstall(options: { manifest: Manifest; slimUserData: string }): string {
  const artifacts = options.manifest.dependencies.filter((d) => !d.local);
  const downloads = artifacts.map((a) => `${mirrorPath(a.url)}\tartifacts/${a.name}/${path.posix.basename(new URL(a.url).pathname)}`);
  downloads.push("vmconfig.tar.gz\tvmconfig.tar.gz");
  const tsv = artifacts.map((a) => [a.name, a.version, a.type, a.digest, `artifacts/${a.name}/${path.posix.basename(new URL(a.url).pathname)}`].join("\t"));
  if (options.slimUserData.includes("PODPLANE_BENCH_SLIM_EOF")) throw new Error("the slim user-data contains the benchmark's heredoc delimiter");
  return `#!/bin/bash
# Benchmark baseline: the boot-time install of today (download, verify, unpack, install, configure).
set -euo pipefail
readonly MIRROR=http://${GUEST_MIRROR.host}
readonly STAGE=${STAGE}
mark() { logger -t podplane-bench "$1"; }

mark "download start"
mkdir -p "$STAGE"
cat >"$STAGE/downloads.tsv" <<'PODPLANE_BENCH_EOF'
${downloads.join("\n")}
PODPLANE_BENCH_EOF
python3 - "$MIRROR" "$STAGE" <<'PODPLANE_BENCH_EOF'
import concurrent.futures, os, shutil, sys, urllib.request
mirror, stage = sys.argv[1], sys.argv[2]
jobs = [line.rstrip("\\n").split("\\t") for line in open(os.path.join(stage, "downloads.tsv")) if line.strip()]
def get(job):
    source, dest = job
    target = os.path.join(stage, dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with urllib.request.urlopen(mirror + "/" + source, timeout=300) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    list(pool.map(get, jobs))
PODPLANE_BENCH_EOF
mark "download done"

cat >"$STAGE/artifacts.tsv" <<'PODPLANE_BENCH_EOF'
${tsv.join("\n")}
PODPLANE_BENCH_EOF
mkdir -p "$STAGE/vmconfig"
tar -xzf "$STAGE/vmconfig.tar.gz" -C "$STAGE/vmconfig"
bash "$STAGE/vmconfig/opt/podplane/bin/install.sh" ${options.manifest.kind} "$STAGE"
mark "install done"

cat >"$STAGE/slim-user-data" <<'PODPLANE_BENCH_SLIM_EOF'
${options.slimUserData.trimEnd()}
PODPLANE_BENCH_SLIM_EOF
bash "$STAGE/slim-user-data"
mark "configure done"
`;
}
