#!/usr/bin/env bash
# Bake time, last step, as root: leaves nothing instance-specific or secret in the image.
# Inputs (env): BUILD_USER (the SSH user Packer logged in as; removed), STAGE (the uploaded
# stage directory; removed), DATASOURCES (cloud-init datasources of the target, e.g.
# "NoCloud, None" for qemu, "Ec2, None" for aws), BUILD_HOSTNAME (the build VM's hostname;
# default: the running hostname inside the VM). validate-image.sh checks the result.
set -euo pipefail

readonly BUILD_USER=${BUILD_USER:-}
readonly STAGE=${STAGE:-}
readonly DATASOURCES=${DATASOURCES:-}
readonly ROOT=${PODPLANE_ROOT:-}
BUILD_HOSTNAME=${BUILD_HOSTNAME:-}
if [[ -z "$BUILD_HOSTNAME" && -z "$ROOT" ]]; then BUILD_HOSTNAME=$(hostname 2>/dev/null || true); fi
readonly BUILD_HOSTNAME

log() { printf 'cleanup-image: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
err_report() { log "failed at line $1"; }
trap 'err_report $LINENO' ERR

clean_cloud_init() {
  if command -v cloud-init >/dev/null 2>&1 && [[ -z "$ROOT" ]]; then
    cloud-init clean --logs --seed
  fi
  rm -rf "$ROOT/var/lib/cloud"/* "$ROOT"/var/log/cloud-init*.log
}

# Only the target's datasources: no probing of other clouds' metadata services at boot.
restrict_datasources() {
  [[ -n "$DATASOURCES" ]] || return 0
  [[ "$DATASOURCES" =~ ^[A-Za-z0-9]+(,\ ?[A-Za-z0-9]+)*$ ]] || die "DATASOURCES: expected names like 'NoCloud, None', found '$DATASOURCES'"
  mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
  printf '# podplane-images: the datasources of this image target\ndatasource_list: [%s]\n' "$DATASOURCES" >"$ROOT/etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg"
}

clear_identity() {
  # Empty, not missing: systemd makes a fresh ID on first boot of each instance.
  if [[ -e "$ROOT/etc/machine-id" ]]; then : >"$ROOT/etc/machine-id"; fi
  rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT"/etc/ssh/ssh_host_*
  rm -f "$ROOT/root/.ssh/authorized_keys"
  # Shared by every instance otherwise: the random seed, the credential key, DHCP leases.
  rm -f "$ROOT/var/lib/systemd/random-seed" "$ROOT/var/lib/systemd/credential.secret"
  rm -rf "$ROOT"/var/lib/dhcpcd/* "$ROOT"/var/lib/dhcp/*.leases "$ROOT"/var/lib/systemd/network/*
  clear_hostname
}

# Debian's default (cloud-init sets the instance's name at first boot); the build VM's name
# leaves /etc/hosts too (cloud-init's manage_etc_hosts wrote it there).
clear_hostname() {
  printf 'localhost\n' >"$ROOT/etc/hostname"
  [[ -n "$BUILD_HOSTNAME" && "$BUILD_HOSTNAME" != localhost && -f "$ROOT/etc/hosts" ]] || return 0
  local kept
  kept=$(awk -v name="$BUILD_HOSTNAME" '{ for (i = 2; i <= NF; i++) if ($i == name || index($i, name ".") == 1) next; print }' "$ROOT/etc/hosts")
  printf '%s\n' "$kept" >"$ROOT/etc/hosts"
}

remove_build_user() {
  [[ -n "$BUILD_USER" && "$BUILD_USER" != root ]] || return 0
  if grep -q "^$BUILD_USER:" "$ROOT/etc/passwd"; then
    # --force: Packer is still logged in as this user; its session ends at the poweroff.
    userdel ${ROOT:+--root "$ROOT"} --force --remove "$BUILD_USER" 2>/dev/null || userdel ${ROOT:+--root "$ROOT"} --force "$BUILD_USER"
  fi
  rm -rf "$ROOT/home/${BUILD_USER:?}"
  rm -f "$ROOT/etc/sudoers.d/90-cloud-init-users" "$ROOT/etc/sudoers.d/$BUILD_USER"
  # userdel leaves a group it did not create as the user's primary one.
  if grep -q "^$BUILD_USER:" "$ROOT/etc/group" 2>/dev/null; then groupdel ${ROOT:+--root "$ROOT"} "$BUILD_USER" 2>/dev/null || true; fi
}

clean_files() {
  local f
  [[ -z "$STAGE" ]] || rm -rf "${ROOT}${STAGE}"
  rm -f "$ROOT"/opt/podplane/etc/*.env
  rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb
  rm -f "$ROOT/root/.bash_history" "$ROOT"/home/*/.bash_history
  # Logs: journald writes to /run from now on, then the persistent journal is dropped.
  if [[ -z "$ROOT" ]] && command -v journalctl >/dev/null 2>&1; then journalctl --relinquish-var 2>/dev/null || true; fi
  rm -rf "$ROOT"/var/log/journal/*
  find "$ROOT/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
  while IFS= read -r -d '' f; do : >"$f"; done < <(find "$ROOT/var/log" -type f -print0)
  rm -rf "$ROOT"/tmp/* "$ROOT"/var/tmp/podplane-stage
}

main() {
  [[ $(id -u) -eq 0 || -n "$ROOT" ]] || die "run as root"
  clean_cloud_init
  restrict_datasources
  clear_identity
  remove_build_user
  clean_files
  sync
  # Freed blocks (the uploaded stage, deleted logs) would otherwise stay in the image.
  if [[ -z "$ROOT" ]] && command -v fstrim >/dev/null 2>&1; then fstrim --all || log "fstrim failed: the image keeps freed blocks"; fi
  log "image cleaned"
}

main "$@"
