#!/usr/bin/env bash
# The qemu build VM's whole bake, run by the boot's init in place of systemd (`init=/bin/sh` on the
# direct-boot command line, pipeline/image/build-vm-boot.ts), as root, from the read-only stage
# disk. No systemd, cloud-init, sshd or build user takes part: under TCG their start-up was the
# larger half of a warm bake. So this mounts what the install needs itself, and does the update
# jobs systemd would have run on this first boot (so that no instance runs them on its own). The
# init powers the VM off when this exits, whatever the outcome; the host takes the last line,
# `podplane-bake: ok`, as the only proof of success (pipeline/image/bake-result.ts), so a failure
# anywhere, a hang cut short by Packer's timeout or a VM that never got this far all fail the bake
# and no image is published.
#
# Every line goes to the serial console (the host's progress and log), each step stamped with the
# guest's uptime so that bench/bake-phases.ts can say where the time went.
#
# Inputs: bake.env beside this script (KIND, DATASOURCES; written by the host, read as data, never
# sourced), the stage at $STAGE (default: the mount point the command line mounted it on).
set -Eeuo pipefail

readonly STAGE=${STAGE:-/run/podplane-stage}
readonly WORK=/run/podplane-bake
readonly VMCONFIG=/tmp/podplane-vmconfig

exec >/dev/console 2>&1

say() {
  local up
  read -r up _ </proc/uptime
  printf 'podplane-bake: [%s] %s\n' "$up" "$*"
}
trap 'say "failed: exit $? at line $LINENO of build-vm.sh: $BASH_COMMAND"' ERR

# KEY=value lines; only the keys and value shapes the host writes.
read_bake_env() {
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      KIND)
        [[ "$value" =~ ^kn[dc]$ ]] || {
          say "bake.env: KIND '$value' is not knd or knc"
          return 1
        }
        KIND=$value
        ;;
      DATASOURCES)
        [[ "$value" =~ ^[A-Za-z0-9]+(,\ ?[A-Za-z0-9]+)*$ ]] || {
          say "bake.env: DATASOURCES '$value'"
          return 1
        }
        DATASOURCES=$value
        ;;
      '' | '#'*) ;;
      *)
        say "bake.env: unknown key '$key'"
        return 1
        ;;
    esac
  done <"$1"
  [[ -n "${KIND:-}" && -n "${DATASOURCES:-}" ]] || {
    say "bake.env: KIND and DATASOURCES are required"
    return 1
  }
}

# What systemd's early boot would have mounted and set, as far as the install needs it: the root
# file system writable, /tmp a tmpfs (nothing of it reaches the image), the cgroup2 hierarchy and
# /dev/pts and /dev/shm (the image's containerd imports the images), a host name.
early_setup() {
  mount -o remount,rw /
  mountpoint -q /tmp || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
  mountpoint -q /sys/fs/cgroup || mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  mkdir -p /dev/pts /dev/shm
  mountpoint -q /dev/pts || mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
  mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
  hostname localhost
}

# The jobs systemd runs once after /usr changed (ConditionNeedsUpdate: the linker cache, the
# hardware database, the journal's message catalog, then the stamps that say they ran): done here,
# every instance's first boot skips them, as it did when the build VM booted through systemd.
update_jobs() {
  ldconfig
  if command -v systemd-hwdb >/dev/null; then systemd-hwdb update; fi
  journalctl --update-catalog
  if [[ -x /usr/lib/systemd/systemd-update-done ]]; then /usr/lib/systemd/systemd-update-done; fi
}

# Packer grew the disk; the root file system follows (on an instance cloud-init's growpart would,
# but the install needs the room now). growpart exits 1 for "nothing to grow".
grow_root() {
  local part disk number
  part=$(findmnt -no SOURCE /)
  disk=/dev/$(lsblk -no PKNAME "$part")
  number=$(cat "/sys/class/block/${part#/dev/}/partition")
  growpart "$disk" "$number" >/dev/null || (($? == 1))
  resize2fs "$part" >/dev/null 2>&1
}

main() {
  # Bash reads a script as it runs it: run from a copy on /run, or the stage stays busy and
  # cannot be unmounted before the cleanup removes it.
  if [[ "$(dirname "$0")" != "$WORK" ]]; then
    mkdir -p "$WORK"
    cp "$(dirname "$0")"/{build-vm.sh,bake.env,cleanup-image.sh,validate-image.sh} "$WORK/"
    exec /bin/bash "$WORK/build-vm.sh" "$@"
  fi
  say "started (kernel $(uname -r))"
  read_bake_env "$WORK/bake.env"
  early_setup
  grow_root
  say "root file system grown: $(df -h --output=size / | tail -1 | tr -d ' ')"
  mkdir -p "$VMCONFIG"
  tar -xzf "$STAGE/vmconfig.tar.gz" -C "$VMCONFIG"
  say "install.sh $KIND"
  # The host checked every artifact's digest in the finished stage disk (read-only here).
  PODPLANE_STAGE_VERIFIED_BY_HOST=1 bash "$VMCONFIG/opt/podplane/bin/install.sh" "$KIND" "$STAGE"
  update_jobs
  say "cleanup"
  cd /
  umount "$STAGE"
  env STAGE="$STAGE" DATASOURCES="$DATASOURCES" BUILD_USER= BUILD_HOSTNAME=localhost bash "$WORK/cleanup-image.sh"
  env STAGE="$STAGE" DATASOURCES="$DATASOURCES" BUILD_USER= BUILD_HOSTNAME=localhost bash "$WORK/validate-image.sh"
  rm -rf "$VMCONFIG"
  sync
  say "ok"
}

main "$@"
