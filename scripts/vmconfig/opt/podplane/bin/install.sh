#!/usr/bin/env bash
# Bake time: install.sh <knd|knc> <stage-dir>
# Verifies every staged artifact against artifacts.tsv (refuses a mismatch before installing
# anything), installs binaries, archive contents and .debs to their runtime paths, installs the
# vmconfig tree: the shared scripts and data, the room of each of the kind's services
# (opt/podplane/services/<svc>/: its unit goes to /etc/systemd/system/<svc>.service, the rest to
# /opt/podplane/services/<svc>/) and the generic units of etc/systemd/system; enables them
# (nothing started); creates Podplane's users and groups (systemd-sysusers) and runtime
# directories (systemd-tmpfiles); imports the stage's container images (images.tsv) into
# containerd's content store (services/containerd/import-images.sh); records it all in
# /opt/podplane/share/installed.json; with the pause image preloaded, writes containerd's env file
# and config.toml, so that it starts at boot (write_containerd_boot_config).
# Re-running converges.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/common.sh
source "${BASH_SOURCE[0]%/*}/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/deliveries.sh
source "${BASH_SOURCE[0]%/*}/../lib/deliveries.sh"
trap 'err_report $LINENO' ERR

VMCONFIG_TREE="$(cd "$VMCONFIG_HOME/../.." && pwd)"
readonly VMCONFIG_TREE
readonly UNIT_DIR="$PODPLANE_ROOT/etc/systemd/system"
readonly KNC_ONLY_ARTIFACTS=" netsy kube-apiserver kube-scheduler kube-controller-manager kubectl "

KIND=""
STAGE=""
declare -a ART_NAME=() ART_VERSION=() ART_TYPE=() ART_DIGEST=() ART_PATH=()
declare -A INSTALLED_PATHS=()
declare -a UNITS=()
# The container images imported into containerd: image, platform, index digest, manifest digest.
declare -a IMAGE_LINES=()
# The node's merged variables as configure.sh has them: none at bake time. The one config writer
# run here, containerd_config_toml, reads none when the sandbox image is preloaded, the only case
# in which it runs here.
declare -gA ENV=()

usage() {
  echo "usage: install.sh <knd|knc> <stage-dir>" >&2
  exit 2
}

read_artifacts() {
  local tsv="$STAGE/artifacts.tsv" name version type digest rel n=0
  [[ -f "$tsv" ]] || die "$tsv is missing"
  while IFS=$'\t' read -r name version type digest rel; do
    n=$((n + 1))
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ -n "$rel" ]] || die "$tsv line $n: expected 5 TAB-separated fields (name version type digest path)"
    [[ "$rel" != /* && "$rel" != *..* ]] || die "$tsv line $n: $name: the path must stay inside the stage directory"
    [[ "$digest" =~ ^sha(256|512):[0-9a-f]+$ ]] || die "$tsv line $n: $name: expected sha256:<hex> or sha512:<hex>, found '$digest'"
    ART_NAME+=("$name")
    ART_VERSION+=("$version")
    ART_TYPE+=("$type")
    ART_DIGEST+=("$digest")
    ART_PATH+=("$STAGE/$rel")
  done <"$tsv"
}

# Every digest is checked before anything is installed: one bad file installs nothing.
# PODPLANE_STAGE_VERIFIED_BY_HOST=1 (the qemu bake only, packer/scripts/build-vm.sh): the stage is
# a read-only disk whose every artifact the host read back out of the finished disk image and
# checked against these digests at native speed (pipeline/stage/verify-stage-iso.ts); hashing the
# same bytes again under emulation added time, not safety. Uploaded or downloaded stages (aws, a
# boot-time install) are always hashed here.
verify_artifacts() {
  local i algo expected found bad=0
  for i in "${!ART_NAME[@]}"; do
    [[ -f "${ART_PATH[i]}" ]] || die "${ART_NAME[i]}: ${ART_PATH[i]} is missing from the stage"
  done
  if [[ "${PODPLANE_STAGE_VERIFIED_BY_HOST:-}" == 1 ]]; then
    log "verified ${#ART_NAME[@]} artifacts (digests checked by the host on the read-only stage disk)"
    return 0
  fi
  for i in "${!ART_NAME[@]}"; do
    algo=${ART_DIGEST[i]%%:*}
    expected=${ART_DIGEST[i]#*:}
    found=$("${algo}sum" "${ART_PATH[i]}")
    found=${found%% *}
    if [[ "$found" != "$expected" ]]; then
      warn "${ART_NAME[i]}: ${ART_PATH[i]}: expected $algo:$expected, found $algo:$found"
      bad=$((bad + 1))
    fi
  done
  ((bad == 0)) || die "$bad artifact(s) do not match artifacts.tsv: refusing to install"
  log "verified ${#ART_NAME[@]} artifacts"
}

# install_file SRC DEST MODE [move]: DEST is replaced (a temp file beside it, then a rename) only
# when its bytes differ from SRC's; its mode is fixed either way; WRITE_CHANGED as write_if_changed
# sets it. Two processes for a new file where write_if_changed takes five: under emulation each
# process start costs tens of milliseconds, and a knc bake installs about a hundred files. With
# `move`, SRC (a scratch file of ours on the same file system) is renamed into place, not copied.
install_file() {
  local src=$1 dest=$2 mode=$3 how=${4:-copy} tmp
  [[ -d "${dest%/*}" ]] || mkdir -p "${dest%/*}"
  if [[ -f "$dest" ]] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"
    WRITE_CHANGED=0
    return 0
  fi
  if [[ "$how" == move ]]; then
    # A link from an archive would be installed as a link to wherever it points.
    [[ ! -L "$src" ]] || die "${src##*/}: a symbolic link in the archive, not a file"
    chmod "$mode" "$src"
    mv -f "$src" "$dest"
  else
    tmp="${dest%/*}/.${dest##*/}.install-$$"
    install -m "$mode" "$src" "$tmp"
    mv -f "$tmp" "$dest"
  fi
  WRITE_CHANGED=1
}

record_path() { INSTALLED_PATHS[$1]+="${INSTALLED_PATHS[$1]:+ }$2"; }

install_binary() {
  local name=$1 src=$2 dest
  case "$name" in
    runc) dest=/usr/local/sbin/runc ;;
    *) dest=/usr/local/bin/$name ;;
  esac
  install_file "$src" "$PODPLANE_ROOT$dest" 0755
  record_path "$name" "$dest"
}

# Extracted on the image's own file system, so that each file is renamed into place rather than
# copied a second time (≈ 400 MB for knc: a real cost under emulation).
install_archive() {
  local name=$1 src=$2 tmp f dest
  mkdir -p "$PODPLANE_ROOT/var/tmp"
  tmp=$(mktemp -d "$PODPLANE_ROOT/var/tmp/podplane-install.XXXXXX")
  tar -xzf "$src" -C "$tmp" --no-same-owner --no-same-permissions
  case "$name" in
    containerd)
      for f in "$tmp"/bin/*; do
        [[ -f "$f" ]] || continue
        dest=/usr/local/bin/${f##*/}
        install_file "$f" "$PODPLANE_ROOT$dest" 0755 move
        record_path "$name" "$dest"
      done
      ;;
    cni-plugins)
      for f in "$tmp"/*; do
        [[ -f "$f" ]] || continue
        case "${f##*/}" in LICENSE* | README*) continue ;; esac
        dest=/opt/cni/bin/${f##*/}
        install_file "$f" "$PODPLANE_ROOT$dest" 0755 move
        record_path "$name" "$dest"
      done
      ;;
    *)
      f=$(find "$tmp" -type f -name "$name" | sort | head -n 1)
      [[ -n "$f" ]] || die "$name: $src holds no file named $name"
      dest=/usr/local/bin/$name
      install_file "$f" "$PODPLANE_ROOT$dest" 0755 move
      record_path "$name" "$dest"
      ;;
  esac
  rm -rf "$tmp"
  [[ -n "${INSTALLED_PATHS[$name]:-}" ]] || die "$name: $src installed nothing"
}

dpkg_root_args() { [[ -z "$PODPLANE_ROOT" ]] || printf '%s\n' "--root=$PODPLANE_ROOT"; }

# All .debs go in one dpkg -i call (they depend on each other); skipped when every package is
# already installed at its staged version.
install_debs() {
  local -a debs=() root_args=()
  local i pending=0 have
  mapfile -t root_args < <(dpkg_root_args)
  for i in "${!ART_NAME[@]}"; do
    [[ "${ART_TYPE[i]}" == deb ]] || continue
    debs+=("${ART_PATH[i]}")
    have=$(dpkg-query "${root_args[@]}" -W -f='${Version}' "${ART_NAME[i]}" 2>/dev/null || true)
    [[ "$have" == "${ART_VERSION[i]}" ]] || pending=1
    case "${ART_NAME[i]}" in
      fluent-bit) record_path fluent-bit /opt/fluent-bit/bin/fluent-bit ;;
      *) INSTALLED_PATHS[${ART_NAME[i]}]+="" ;;
    esac
  done
  ((${#debs[@]} > 0)) || return 0
  if ((pending == 0)); then
    log "the ${#debs[@]} .deb packages are already installed"
    return
  fi
  log "dpkg -i ${#debs[@]} packages"
  DEBIAN_FRONTEND=noninteractive dpkg "${root_args[@]}" --force-confold -i "${debs[@]}"
}

install_artifacts() {
  local i name
  for i in "${!ART_NAME[@]}"; do
    name=${ART_NAME[i]}
    if [[ "$KIND" == knd && "$KNC_ONLY_ARTIFACTS" == *" $name "* ]]; then
      warn "$name is a knc artifact: not installed on a knd image"
      continue
    fi
    case "${ART_TYPE[i]}" in
      binary) install_binary "$name" "${ART_PATH[i]}" ;;
      tar.gz)
        if [[ "$name" == vmconfig ]]; then
          record_path vmconfig /opt/podplane
          continue
        fi
        install_archive "$name" "${ART_PATH[i]}"
        ;;
      deb) ;;
      *) die "$name: cannot install an artifact of type '${ART_TYPE[i]}'" ;;
    esac
  done
  install_debs
}

# The stage's container images go into containerd's content store with the image's own
# containerd (installed above); a stage without images.tsv has none to import.
import_images() {
  [[ -f "$STAGE/images.tsv" ]] || return 0
  local out line
  out=$(mktemp)
  bash "$VMCONFIG_TREE/opt/podplane/services/containerd/import-images.sh" "$STAGE" "$out" ||
    die "the container images of $STAGE/images.tsv could not be imported into containerd"
  while IFS= read -r line; do
    [[ -z "$line" ]] || IMAGE_LINES+=("$line")
  done <"$out"
  rm -f -- "$out"
}

# The vmconfig tree: the shared scripts and data, the kind's tmpfiles.d file, the rooms of the
# kind's services and the generic units (etc/systemd/system: the configure service, the recv
# watcher, timers). A room must have its unit.
install_vmconfig() {
  local f rel svc room
  while IFS= read -r f; do
    rel=${f#"$VMCONFIG_TREE"}
    case "$rel" in
      # The rooms come below, for the kind's services only; services/lib.sh (sourced by the
      # rooms' config writers) is installed here with the shared files.
      /opt/podplane/services/*/* | /opt/podplane/libexec/*) continue ;;
      /etc/tmpfiles.d/podplane-kn?.conf) [[ "$rel" == "/etc/tmpfiles.d/podplane-$KIND.conf" ]] || continue ;;
      /etc/systemd/system/*) UNITS+=("${rel##*/}") ;;
    esac
    case "$rel" in
      /opt/podplane/bin/* | /opt/podplane/lib/*) install_file "$f" "$PODPLANE_ROOT$rel" 0755 ;;
      *) install_file "$f" "$PODPLANE_ROOT$rel" 0644 ;;
    esac
  done < <(find "$VMCONFIG_TREE" -type f | sort)
  for svc in "${SERVICES[@]}"; do
    room="$VMCONFIG_TREE/opt/podplane/services/$svc"
    [[ -f "$room/$svc.service" ]] || die "$svc: its unit ${room#"$VMCONFIG_TREE"}/$svc.service is missing"
    while IFS= read -r f; do
      rel=${f#"$room/"}
      case "$rel" in
        "$svc.service") install_file "$f" "$UNIT_DIR/$svc.service" 0644 ;;
        *.sh) install_file "$f" "$PP_HOME/services/$svc/$rel" 0755 ;;
        *) install_file "$f" "$PP_HOME/services/$svc/$rel" 0644 ;;
      esac
    done < <(find "$room" -type f | sort)
    UNITS+=("$svc.service")
  done
  install_helper_rooms
}

# Rooms with no services.tsv row are helpers every kind gets (hosts-refresh: the
# kube-apiserver.podplane.internal entry and its timer): all their units go to
# /etc/systemd/system, the rest to /opt/podplane/services/<room>/.
install_helper_rooms() {
  local dir room f rel svc _
  local -A listed=()
  while IFS=$'\t' read -r svc _; do
    [[ -z "$svc" || "$svc" == \#* ]] || listed[$svc]=1
  done <"$SERVICES_TSV"
  for dir in "$VMCONFIG_TREE"/opt/podplane/services/*/; do
    room=${dir%/}
    room=${room##*/}
    [[ -z "${listed[$room]:-}" ]] || continue
    while IFS= read -r f; do
      rel=${f#"$dir"}
      case "$rel" in
        *.service | *.timer)
          install_file "$f" "$UNIT_DIR/$rel" 0644
          UNITS+=("$rel")
          ;;
        *.sh) install_file "$f" "$PP_HOME/services/$room/$rel" 0755 ;;
        *) install_file "$f" "$PP_HOME/services/$room/$rel" 0644 ;;
      esac
    done < <(find "$dir" -type f | sort)
  done
}

create_dirs() {
  install -d -m 0755 "$PP_HOME" "$PP_ETC" "$PP_HOME/share" "$PODPLANE_ROOT/opt/cni/bin" "$PODPLANE_ROOT/var/lib/kubelet"
  install -d -m 0700 "$PP_STATE"
}

# Podplane's users (its permissions.sh): group podplane; a system user and group per service,
# each also in podplane; fluent-bit also in systemd-journal (it reads the journal), kubelet also in
# containerd. Written to /usr/lib/sysusers.d/podplane.conf; systemd-sysusers runs only when that
# file changed or a user is missing from /etc/passwd. Then systemd-tmpfiles for the directories
# (etc/tmpfiles.d/podplane.conf and podplane-<kind>.conf), which need those groups.
readonly -a USERS_BOTH=(nstance-agent fluent-bit kube2iam containerd kubelet zot)
readonly -a USERS_KNC=(netsy kube-apiserver kube-scheduler kube-controller-manager)
USERS=()
create_users() {
  local user f text="" passwd="" missing=0
  USERS=("${USERS_BOTH[@]}")
  [[ "$KIND" != knc ]] || USERS+=("${USERS_KNC[@]}")
  text+="g podplane -"$'\n'
  for user in "${USERS[@]}"; do
    text+="u $user - \"Podplane $user\" / -"$'\n'
  done
  for user in "${USERS[@]}"; do
    text+="m $user podplane"$'\n'
  done
  text+="m fluent-bit systemd-journal"$'\n'"m kubelet containerd"$'\n'
  local conf="$PODPLANE_ROOT/usr/lib/sysusers.d/podplane.conf"
  printf '# Written by install.sh: the users and groups of a %s image.\n%s' "$KIND" "$text" | write_if_changed "$conf" 0644
  [[ ! -f "$PODPLANE_ROOT/etc/passwd" ]] || read_file "$PODPLANE_ROOT/etc/passwd" passwd
  for user in "${USERS[@]}"; do
    [[ $'\n'"$passwd" == *$'\n'"$user:"* ]] || missing=1
  done
  local -a root_args=()
  [[ -z "$PODPLANE_ROOT" ]] || root_args=("--root=$PODPLANE_ROOT")
  if ((WRITE_CHANGED || missing)); then
    command -v systemd-sysusers >/dev/null || die "systemd-sysusers is missing: cannot create the users ${USERS[*]}"
    systemd-sysusers "${root_args[@]}" "$conf"
    log "users: ${USERS[*]} (group podplane)"
  fi
  local -a tmpfiles=()
  for f in "$PODPLANE_ROOT/etc/tmpfiles.d/podplane.conf" "$PODPLANE_ROOT/etc/tmpfiles.d/podplane-$KIND.conf"; do
    [[ ! -f "$f" ]] || tmpfiles+=("$f")
  done
  ((${#tmpfiles[@]} == 0)) || systemd-tmpfiles "${root_args[@]}" --create "${tmpfiles[@]}"
}

# Enabled at bake time: every service of the kind, including the conditional ones (kube2iam,
# zot): every service unit has ConditionPathExists=/opt/env/<service>.env, so one whose env file
# configure.sh did not write is skipped at boot, and nothing is enabled, disabled or reloaded at
# boot; and each generic unit with an [Install] section (the configure service, the recv
# watcher's path unit, timers), not the units they start.
enable_units() {
  local -a wanted=() pending=()
  local unit line
  for unit in "${UNITS[@]}"; do
    while IFS= read -r line; do
      if [[ "$line" == WantedBy=* || "$line" == RequiredBy=* ]]; then
        wanted+=("$unit")
        break
      fi
    done <"$UNIT_DIR/$unit"
  done
  systemctl daemon-reload || warn "systemctl daemon-reload failed (no running systemd?): enabling offline"
  for unit in "${wanted[@]}"; do
    systemctl is-enabled --quiet "$unit" 2>/dev/null || pending+=("$unit")
  done
  # One call: systemctl reloads the manager once per enable, which is slow under emulation.
  ((${#pending[@]} == 0)) || systemctl enable "${pending[@]}"
}

write_installed_json() {
  local i name p first
  {
    printf '{\n  "kind": %s,\n  "artifacts": [' "$(json_string "$KIND")"
    first=1
    for i in "${!ART_NAME[@]}"; do
      name=${ART_NAME[i]}
      [[ -n "${INSTALLED_PATHS[$name]+set}" ]] || continue
      ((first)) || printf ','
      first=0
      printf '\n    {"name": %s, "version": %s, "digest": %s, "paths": [' \
        "$(json_string "$name")" "$(json_string "${ART_VERSION[i]}")" "$(json_string "${ART_DIGEST[i]}")"
      local sep=""
      for p in ${INSTALLED_PATHS[$name]}; do
        printf '%s%s' "$sep" "$(json_string "$p")"
        sep=", "
      done
      printf ']}'
    done
    printf '\n  ],\n  "images": ['
    local sep="" line image platform index digest
    for line in "${IMAGE_LINES[@]}"; do
      IFS=$'\t' read -r image platform index digest <<<"$line"
      printf '%s\n    {"image": %s, "platform": %s, "index": %s, "digest": %s, "preloaded": true}' "$sep" \
        "$(json_string "$image")" "$(json_string "$platform")" "$(json_string "$index")" "$(json_string "$digest")"
      sep=","
    done
    printf '\n  ],\n  "units": ['
    sep=""
    for p in "${UNITS[@]}"; do
      printf '%s%s' "$sep" "$(json_string "$p")"
      sep=", "
    done
    printf ']\n}\n'
  } | write_if_changed "$PP_HOME/share/installed.json" 0644
  printf '%s\n' "$KIND" | write_if_changed "$PP_KIND_FILE" 0644
  # The tree may have kept old mtimes (tar): configure.sh's no-op stamp (lib/noop.sh) must not
  # vouch for scripts it never ran.
  rm -f -- "$PP_STATE/noop.stamp"
}

# containerd starts at every boot once its env file and config.toml exist (its unit is enabled,
# WantedBy=multi-user.target, ConditionPathExists= on both). With the sandbox image preloaded,
# config.toml holds nothing of the node and the env file no variable, so both are written here by
# configure.sh's own code (stage_service_env, containerd_config_toml), and their digests recorded
# as restart.sh records a start: the first configure.sh (the user-data) finds containerd running,
# or still starting, with unchanged inputs, and no longer starts it itself (≈23 s to READY=1
# under TCG). Podplane's vmconfig writes containerd's config at boot; writing the same config at
# bake time is a knowing difference, for a faster boot. Without a preloaded sandbox image,
# config.toml depends on the node's registry: configure.sh writes it at first boot, as before. If
# configure.sh ever computes other bytes, the digest no longer matches and restart.sh restarts it.
write_containerd_boot_config() {
  # shellcheck disable=SC2034 # filled through a nameref: only whether it is preloaded matters here
  local sandbox preloaded
  # shellcheck source=/dev/null
  source "$VMCONFIG_HOME/services/containerd/configure.sh"
  containerd_sandbox_image sandbox preloaded
  if [[ "$preloaded" != true ]]; then
    log "containerd: no preloaded sandbox image: configure.sh writes its config at first boot"
    return 0
  fi
  stage_service_env containerd
  containerd_config_toml
  ((STAGED_COUNT == 0)) || commit_staged
  record_start_digest containerd
  log "containerd: env file and config.toml written, their digests recorded: it starts at every boot"
}

# record_start_digest SERVICE: the record restart.sh keeps of a service it started, made by its
# own code from the service's inputs as they are now.
record_start_digest() {
  load_deliveries "$KIND"
  load_service_inputs "$KIND"
  compute_digests "$1"
  stage_digest "$1"
  ((STAGED_COUNT == 0)) || commit_staged
}

main() {
  (($# == 2)) || usage
  KIND=$1
  [[ "$KIND" == knd || "$KIND" == knc ]] || die "unknown kind '$KIND': expected knd or knc"
  [[ -d "$2" ]] || die "stage directory '$2' does not exist"
  STAGE="$(cd "$2" && pwd)"
  load_services "$KIND"
  read_artifacts
  verify_artifacts
  create_dirs
  install_artifacts
  import_images
  install_vmconfig
  create_users
  enable_units
  write_installed_json
  write_containerd_boot_config
  log "installed $KIND: ${#ART_NAME[@]} artifacts, ${#UNITS[@]} units"
}

main "$@"
