#!/usr/bin/env bash
# Bake time, after cleanup-image.sh: fails the build when anything instance-specific or secret
# is still in the image. Prints one line per finding. Inputs (env): BUILD_USER, STAGE.
# PODPLANE_ROOT checks an image mounted elsewhere (inspect uses the same rules).
set -euo pipefail

readonly BUILD_USER=${BUILD_USER:-}
readonly STAGE=${STAGE:-/var/tmp/podplane-stage}
readonly DATASOURCES=${DATASOURCES:-}
readonly ROOT=${PODPLANE_ROOT:-}
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
  return 0
}

check_build_user() {
  [[ -n "$BUILD_USER" ]] || return 0
  if grep -q "^$BUILD_USER:" "$ROOT/etc/passwd"; then finding "build user $BUILD_USER still exists"; fi
  [[ ! -e "$ROOT/home/$BUILD_USER" ]] || finding "/home/$BUILD_USER still exists"
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
