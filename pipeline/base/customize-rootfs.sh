#!/usr/bin/env bash
# mmdebstrap customize hook: turns a fresh trixie root into a cloud-init guest that boots
# cleanly under QEMU. $1 is the root directory, $2 the Debian architecture (amd64 or arm64:
# the serial console's name differs). Runs on the host, touches only $1.
set -euo pipefail

log() { printf 'customize-rootfs: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

enable_networkd() {
  local root=$1
  # Debian ships both disabled; without them cloud-init's network config is not applied.
  systemctl --root="$root" enable systemd-networkd.service systemd-resolved.service
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
}

mask_ssh_generator() {
  local root=$1
  # systemd 257 warns about AF_VSOCK on every boot without a vsock device.
  mkdir -p "$root/etc/systemd/system-generators"
  ln -sf /dev/null "$root/etc/systemd/system-generators/systemd-ssh-generator"
}

configure_cloud_init() {
  local root=$1
  cat >"$root/etc/cloud/cloud.cfg.d/90-podplane-base.cfg" <<'CFG'
# podplane-images debootstrap base (qemu): NoCloud seed only, no network probes.
datasource_list: [NoCloud, None]
ssh_genkeytypes: [ed25519]
locale: C.UTF-8
manage_etc_hosts: true
CFG
}

configure_boot() {
  local root=$1 arch=$2 console=ttyS0 terminal="console serial"
  local -a serial=('GRUB_SERIAL_COMMAND="serial --speed=115200"')
  if [[ "$arch" == arm64 ]]; then
    # The virt machine's PL011 UART; GRUB's EFI build uses the firmware console (that UART).
    console=ttyAMA0 terminal=console serial=()
  fi
  printf '%s\n' "GRUB_TIMEOUT=0" 'GRUB_CMDLINE_LINUX_DEFAULT=""' \
    "GRUB_CMDLINE_LINUX=\"console=tty0 console=$console,115200 consoleblank=0\"" \
    "GRUB_TERMINAL=\"$terminal\"" "${serial[@]}" >"$root/etc/default/grub.d/90-podplane.cfg"
}

clear_identity() {
  local root=$1
  # Empty (not missing, not "uninitialized"): systemd makes a new ID on first boot and
  # sshd-keygen leaves host keys to cloud-init (ed25519 only).
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  echo localhost >"$root/etc/hostname"
}

main() {
  local root=${1:-} arch=${2:-amd64}
  [[ -n "$root" && -d "$root/etc" ]] || die "usage: customize-rootfs.sh ROOTDIR [amd64|arm64]"
  [[ "$arch" == amd64 || "$arch" == arm64 ]] || die "architecture must be amd64 or arm64, not '$arch'"
  mkdir -p "$root/etc/default/grub.d"
  enable_networkd "$root"
  mask_ssh_generator "$root"
  configure_cloud_init "$root"
  configure_boot "$root" "$arch"
  clear_identity "$root"
  log "done"
}

main "$@"
