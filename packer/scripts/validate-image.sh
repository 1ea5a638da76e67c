#!/usr/bin/env bash
# Bake time, after cleanup-image.sh: fails the build when anything instance-specific or secret
# is still in the image. Prints one line per finding. Inputs (env): BUILD_USER, STAGE,
# DATASOURCES, BUILD_HOSTNAME (default: the running hostname inside the VM).
# PODPLANE_ROOT checks an image mounted elsewhere (inspect uses the same rules).
set -euo pipefail

readonly BUILD_USER=${BUILD_USER:-}
readonly STAGE=${STAGE:-/var/tmp/podplane-stage}
readonly DATASOURCES=${DATASOURCES:-}
readonly ROOT=${PODPLANE_ROOT:-}
BUILD_HOSTNAME=${BUILD_HOSTNAME:-}
if [[ -z "$BUILD_HOSTNAME" && -z "$ROOT" ]]; then BUILD_HOSTNAME=$(hostname 2>/dev/null || true); fi
readonly BUILD_HOSTNAME
FINDINGS=0

finding() {
  printf 'validate-image: %s\n' "$*" >&2
  FINDINGS=$((FINDINGS + 1))
}

check_identity() {
  local f
  [[ ! -s "$ROOT/etc/machine-id" ]] || finding "/etc/machine-id is not empty"
  for f in "$ROOT"/etc/ssh/ssh_host_*; do
    [[ -e "$f" ]] && finding "SSH host key left: ${f#"$ROOT"}"
  done
  for f in "$ROOT"/root/.ssh/authorized_keys "$ROOT"/home/*/.ssh/authorized_keys; do
    [[ -e "$f" ]] && finding "authorized_keys left: ${f#"$ROOT"}"
  done
  [[ ! -s "$ROOT/var/lib/dbus/machine-id" || -L "$ROOT/var/lib/dbus/machine-id" ]] || finding "/var/lib/dbus/machine-id is not empty"
  for f in "$ROOT/var/lib/systemd/random-seed" "$ROOT/var/lib/systemd/credential.secret"; do
    [[ -e "$f" ]] && finding "per-machine secret left: ${f#"$ROOT"}"
  done
  if [[ -n "$(find "$ROOT/var/lib/dhcpcd" "$ROOT/var/lib/dhcp" "$ROOT/var/lib/systemd/network" -mindepth 1 -type f 2>/dev/null)" ]]; then finding "DHCP leases left"; fi
  check_hostname
  return 0
}

check_hostname() {
  local name=""
  [[ ! -e "$ROOT/etc/hostname" ]] || name=$(tr -d '[:space:]' <"$ROOT/etc/hostname")
  [[ -z "$name" || "$name" == localhost ]] || finding "/etc/hostname is '$name' (expected empty or localhost)"
  if [[ -n "$BUILD_HOSTNAME" && "$BUILD_HOSTNAME" != localhost && -f "$ROOT/etc/hosts" ]] &&
    awk -v name="$BUILD_HOSTNAME" '{ for (i = 2; i <= NF; i++) if ($i == name || index($i, name ".") == 1) found = 1 } END { exit !found }' "$ROOT/etc/hosts"; then
    finding "/etc/hosts names the build host $BUILD_HOSTNAME"
  fi
  return 0
}

check_build_user() {
  [[ -n "$BUILD_USER" ]] || return 0
  local f
  if grep -q "^$BUILD_USER:" "$ROOT/etc/passwd"; then finding "build user $BUILD_USER still exists"; fi
  if grep -q "^$BUILD_USER:" "$ROOT/etc/group" 2>/dev/null; then finding "build user's group $BUILD_USER still exists"; fi
  [[ ! -e "$ROOT/home/$BUILD_USER" ]] || finding "/home/$BUILD_USER still exists"
  for f in "$ROOT"/etc/sudoers.d/*; do
    [[ -f "$f" ]] || continue
    if [[ "$f" == */90-cloud-init-users ]] || grep -qw -- "$BUILD_USER" "$f"; then finding "sudo rule for the build user left: ${f#"$ROOT"}"; fi
  done
  return 0
}

check_state() {
  local f
  if [[ -d "$ROOT/var/lib/cloud" ]] && [[ -n "$(ls -A "$ROOT/var/lib/cloud")" ]]; then finding "cloud-init state left in /var/lib/cloud"; fi
  for f in "$ROOT"/opt/podplane/etc/*.env; do
    [[ -e "$f" ]] && finding "env file left: ${f#"$ROOT"}"
  done
  [[ ! -e "$ROOT$STAGE" ]] || finding "stage directory left: $STAGE"
  if [[ -n "$(find "$ROOT/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f ! -name lock 2>/dev/null)" ]]; then finding "apt lists left in /var/lib/apt/lists"; fi
  for f in "$ROOT"/root/.bash_history "$ROOT"/home/*/.bash_history; do
    [[ -e "$f" ]] && finding "shell history left: ${f#"$ROOT"}"
  done
  if [[ -n "$(find "$ROOT/var/log/journal" -mindepth 1 -type f 2>/dev/null)" ]]; then finding "persistent journal left in /var/log/journal"; fi
  # wtmp/btmp/lastlog get the shutdown record after the validation: not a leak.
  if [[ -n "$(find "$ROOT/var/log" -type f -size +0 ! -path '*/journal/*' ! -name wtmp ! -name btmp ! -name lastlog 2>/dev/null)" ]]; then finding "non-empty log files left in /var/log"; fi
  return 0
}

check_datasources() {
  [[ -n "$DATASOURCES" ]] || return 0
  local cfg="$ROOT/etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg"
  grep -qxF "datasource_list: [$DATASOURCES]" "$cfg" 2>/dev/null || finding "cloud-init datasources are not restricted to $DATASOURCES"
}

check_installed() {
  [[ -s "$ROOT/opt/podplane/share/installed.json" ]] || finding "/opt/podplane/share/installed.json is missing"
}

main() {
  check_identity
  check_build_user
  check_state
  check_datasources
  check_installed
  if ((FINDINGS > 0)); then
    printf 'validate-image: %d finding(s): the image is not clean\n' "$FINDINGS" >&2
    exit 1
  fi
  printf 'validate-image: clean\n' >&2
}

main "$@"
