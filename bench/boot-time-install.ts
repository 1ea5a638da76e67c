// The benchmark's baseline: Podplane's user-data as it runs today on a plain base image
// (podplane/podplane pkg/userdata/user-data.sh): after the wait for nstance-server it downloads
// every artifact of the kind and vmconfig.tar.gz from the deps mirror, verifies them, unpacks
// vmconfig, installs, and goes on exactly as the slim user-data does (user-data.env, identity,
// configure.sh, restart.sh). Built by splicing those steps into the very slim user-data the baked
// image gets, so both arms run the same script around them.
//
// Where it differs from Podplane's script, and why:
// - the base image has no curl; cloud-init's python3 downloads instead, 10 at a time as
//   Podplane's `curl --parallel --parallel-max 10`;
// - install.sh checks every digest before it installs anything (as it does at bake time), which
//   is the verification step: a second `sha256sum -c` pass in the script would count it twice;
// - vmconfig is unpacked into the stage (as the bake does) instead of over /;
// - the units this project enables at bake time and the boot then starts (the recv watcher's
//   path unit) are started after install.sh, since this boot is past that point; Podplane's
//   restart.sh starts the same ones on every run.
import { guestForward } from "../pipeline/boot/listeners.js";
import type { Manifest } from "../pipeline/manifest/index.js";
import { mirrorRelativePath } from "../pipeline/fetch/mirror.js";
import { artifactsTsv, upstreamFileName, type StagedArtifact } from "../pipeline/stage/write-stage.js";

/** Where the VM sees the loopback mirror (QEMU guestfwd → socat → 127.0.0.1:PORT). */
export const GUEST_MIRROR = { host: "10.0.2.100", port: 80 } as const;
/** Parallel downloads, as Podplane's `curl --parallel-max 10`. */
export const DOWNLOAD_PARALLEL = 10;
/** Path and timer units install.sh enables that a baked image's boot starts (test: every such unit of the vmconfig tree). */
export const START_AFTER_INSTALL = ["nstance-recv-watch.path"] as const;
/** The slim user-data's section the install goes before (Podplane writes user-data.env after installing vmconfig). */
export const INSERT_BEFORE = "# --- 7. ";

/** The mirror as the guest addresses it (port 80: no port in the URL). */
const MIRROR_URL = `http://${GUEST_MIRROR.host}`;
const STAGE = "/var/lib/podplane-stage";
const EOF_MARK = "PODPLANE_BENCH_EOF";

export function renderInstallSection(manifest: Manifest): string[] {
  const artifacts = manifest.dependencies.filter((d) => !d.local);
  const unpinned = artifacts.filter((a) => a.digest === "").map((a) => a.name);
  if (unpinned.length > 0) throw new Error(`${manifest.file}: unpinned artifacts cannot be verified at boot: ${unpinned.join(", ")}`);
  const staged: StagedArtifact[] = artifacts.map((a) => ({
    name: a.name,
    version: a.version,
    type: a.type,
    digest: a.digest,
    relativePath: `artifacts/${a.name}/${upstreamFileName(a.url)}`,
    size: a.size,
  }));
  const downloads = [...staged.map((s, i) => `${mirrorRelativePath(artifacts[i]?.url ?? "")}\t${s.relativePath}`), "vmconfig.tar.gz\tvmconfig.tar.gz"];
  return [
    "# --- 5. Download and verify dependencies (the benchmark's boot-time install) ---",
    "# The bake's umask, not the script's 077: install.sh creates directories service users read.",
    "(",
    "umask 022",
    `readonly MIRROR=${MIRROR_URL}`,
    `readonly STAGE=${STAGE}`,
    'mark() { logger -t podplane-bench -- "$1"; }',
    `log "Downloading ${downloads.length} dependencies..."`,
    'mark "download start"',
    'mkdir -p "$STAGE"',
    `cat >"$STAGE/downloads.tsv" <<'${EOF_MARK}'`,
    ...downloads,
    EOF_MARK,
    `python3 - "$MIRROR" "$STAGE" ${DOWNLOAD_PARALLEL} <<'${EOF_MARK}'`,
    "import concurrent.futures, os, shutil, sys, urllib.request",
    "mirror, stage, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3])",
    'jobs = [line.rstrip("\\n").split("\\t") for line in open(os.path.join(stage, "downloads.tsv")) if line.strip()]',
    "def get(job):",
    "    source, dest = job",
    "    target = os.path.join(stage, dest)",
    "    os.makedirs(os.path.dirname(target), exist_ok=True)",
    '    with urllib.request.urlopen(mirror + "/" + source, timeout=300) as response, open(target, "wb") as out:',
    "        shutil.copyfileobj(response, out, 1 << 20)",
    "with concurrent.futures.ThreadPoolExecutor(parallel) as pool:",
    "    list(pool.map(get, jobs))",
    EOF_MARK,
    'mark "download done"',
    "",
    "# --- 6. Unpack vmconfig; install.sh verifies every digest, then installs ---",
    `cat >"$STAGE/artifacts.tsv" <<'${EOF_MARK}'`,
    ...artifactsTsv(staged).trimEnd().split("\n"),
    EOF_MARK,
    'mkdir -p "$STAGE/vmconfig"',
    'tar -xzf "$STAGE/vmconfig.tar.gz" -C "$STAGE/vmconfig"',
    'log "Running install.sh..."',
    `bash "$STAGE/vmconfig/opt/podplane/bin/install.sh" ${manifest.kind} "$STAGE"`,
    `systemctl start ${START_AFTER_INSTALL.join(" ")}`,
    'mark "install done"',
    ")",
    "",
  ];
}

/** The slim user-data with the boot-time install placed where Podplane's user-data has it. */
export function renderBootTimeInstall(options: { manifest: Manifest; slimUserData: string }): string {
  const lines = options.slimUserData.split("\n");
  if (lines.includes(EOF_MARK)) throw new Error(`the slim user-data has a line ${EOF_MARK}, the benchmark's heredoc delimiter`);
  const at = lines.findIndex((l) => l.startsWith(INSERT_BEFORE));
  if (at < 0) throw new Error(`the slim user-data has no "${INSERT_BEFORE}…" section (user-data.env): nowhere to put the boot-time install`);
  return [...lines.slice(0, at), ...renderInstallSection(options.manifest), ...lines.slice(at)].join("\n");
}

/** The guestfwd rule that puts the loopback mirror at GUEST_MIRROR. */
export function guestMirrorForward(hostPort: number): string {
  return guestForward(GUEST_MIRROR.host, GUEST_MIRROR.port, hostPort);
}
