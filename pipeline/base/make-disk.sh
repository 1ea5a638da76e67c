#!/usr/bin/env bash
# Lays a root tarball onto a partitioned raw disk, installs GRUB from the image's own packages,
# and converts the disk to a compressed qcow2. Two layouts, by FIRMWARE:
#   bios: MBR, one ext4 partition, grub-pc (amd64 under SeaBIOS).
#   efi:  GPT, ext4 root as partition 1 and an EFI system partition as partition 15 (the
#         layout of Debian's cloud images), GRUB's arm64-efi image at the removable path
#         (EFI/BOOT/BOOTAA64.EFI): UEFI finds it without NVRAM boot entries. The ESP is written
#         with mtools, never mounted: a build host's kernel may have no vfat (this one has not),
#         and grub-install insists on a mounted FAT directory, so the image is made with
#         grub-mkimage, which grub-install runs itself.
# Usage: make-disk.sh ROOTFS_TAR OUT_QCOW2 [SIZE_MIB] [bios|efi]
# Needs root (loop devices, mount). Everything it sets up is torn down on exit.
set -euo pipefail

readonly TAR=${1:-}
readonly OUT=${2:-}
readonly SIZE_MIB=${3:-3072}
readonly FIRMWARE=${4:-bios}
readonly ESP_START=2048 ESP_SECTORS=126976 ROOT_START=129024
WORK=""
LOOP=""
MNT=""

log() { printf 'make-disk: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# Mount points at or beneath $1, deepest first, decoded from /proc/self/mountinfo (\ooo escapes).
mounts_under() {
  local dir=$1 point
  while read -r _ _ _ _ point _; do
    point=$(printf '%b' "$point")
    if [[ "$point" == "$dir" || "$point" == "$dir"/* ]]; then printf '%s\n' "$point"; fi
  done </proc/self/mountinfo | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# A long child runs in the background and the script waits for it: bash runs a TERM trap only
# between commands, so a foreground grub-install would hold the trap (and the mounts) until the
# pipeline's SIGKILL. `wait` returns at once on a signal; the cleanup then stops the child.
CHILD=""
run() {
  "$@" &
  CHILD=$!
  wait "$CHILD"
  CHILD=""
}

stop_child() {
  [[ -n "$CHILD" ]] || return 0
  kill -TERM "$CHILD" 2>/dev/null || true
  local _i
  for _i in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$CHILD" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$CHILD" 2>/dev/null || true
  wait "$CHILD" 2>/dev/null || true
  CHILD=""
}

# Unmounts everything beneath $WORK, detaches the loop device, and removes $WORK only when no
# mount is left beneath it: never `rm -r` through a bind-mounted /dev.
cleanup() {
  local status=$? point left attempt
  trap - EXIT TERM INT HUP
  stop_child
  [[ -n "$WORK" ]] || exit "$status"
  for attempt in 1 2 3; do
    left=$(mounts_under "$WORK")
    [[ -n "$left" ]] || break
    while IFS= read -r point; do
      umount "$point" 2>/dev/null || log "umount $point failed (attempt $attempt)"
    done <<<"$left"
    sleep "0.$attempt"
  done
  if [[ -n "$LOOP" ]]; then
    partx -d "$LOOP" 2>/dev/null || true
    losetup -d "$LOOP" 2>/dev/null || log "could not detach $LOOP"
  fi
  left=$(mounts_under "$WORK")
  if [[ -n "$left" ]]; then
    log "NOT removing $WORK: still mounted beneath it: $(tr '\n' ' ' <<<"$left")"
    exit 1
  fi
  rm -rf -- "$WORK"
  exit "$status"
}

partition_disk() {
  local raw=$1
  truncate -s "${SIZE_MIB}M" "$raw"
  if [[ "$FIRMWARE" == efi ]]; then
    # sfdisk takes the partition number from the name's trailing digits: root 1, ESP 15.
    printf 'label: gpt\n%s1 : start=%d, type=L\n%s15 : start=%d, size=%d, type=U\n' \
      "$raw" "$ROOT_START" "$raw" "$ESP_START" "$ESP_SECTORS" | sfdisk --quiet "$raw"
  else
    printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$raw"
  fi
  LOOP=$(losetup --find --show "$raw")
  # No udev here: losetup -P creates no partition nodes, partx -a does.
  partx -a "$LOOP"
  [[ -b "${LOOP}p1" ]] || die "no partition node ${LOOP}p1 after partx -a"
  if [[ "$FIRMWARE" == efi ]]; then
    [[ -b "${LOOP}p15" ]] || die "no partition node ${LOOP}p15 after partx -a"
  fi
  return 0
}

write_boot_config() {
  local uuid=$1 esp_uuid=${2:-} kernel initrd console serial
  kernel=$(cd "$MNT/boot" && find . -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n1)
  initrd=$(cd "$MNT/boot" && find . -maxdepth 1 -name 'initrd.img-*' -printf '%f\n' | sort -V | tail -n1)
  [[ -n "$kernel" && -n "$initrd" ]] || die "no kernel or initrd in /boot of the root tarball"
  printf 'UUID=%s / ext4 rw,discard,errors=remount-ro 0 1\n' "$uuid" >"$MNT/etc/fstab"
  if [[ -n "$esp_uuid" ]]; then
    # No fsck pass (the image has no fsck.vfat); nofail: a missing ESP does not stop a boot.
    printf 'UUID=%s /boot/efi vfat umask=0077,nofail 0 0\n' "$esp_uuid" >>"$MNT/etc/fstab"
  fi
  # The virt machine's UART is a PL011 (ttyAMA0); GRUB's EFI build talks through the
  # firmware's console, which is that UART, so it needs no serial command of its own.
  if [[ "$FIRMWARE" == efi ]]; then
    console=ttyAMA0
    serial=""
  else
    console=ttyS0
    serial=$'serial --speed=115200\nterminal_input console serial\nterminal_output console serial'
  fi
  # Written by hand: without udev, update-grub would write root=/dev/loopXp1.
  mkdir -p "$MNT/boot/grub"
  cat >"$MNT/boot/grub/grub.cfg" <<CFG
$serial
set timeout=0
search --no-floppy --fs-uuid --set=root $uuid
menuentry 'Debian GNU/Linux' {
  insmod ext2
  linux /boot/$kernel root=UUID=$uuid ro console=tty0 console=$console,115200 consoleblank=0
  initrd /boot/$initrd
}
CFG
}

# The GRUB modules grub.cfg may insmod, and a core image that finds the root file system by
# UUID and reads /boot/grub/grub.cfg there. Runs in the image (qemu-user on a foreign host).
make_efi_image() {
  local uuid=$1
  mkdir -p "$MNT/boot/grub/arm64-efi"
  cp "$MNT"/usr/lib/grub/arm64-efi/*.mod "$MNT"/usr/lib/grub/arm64-efi/*.lst "$MNT/boot/grub/arm64-efi/"
  # shellcheck disable=SC2016 # $root is GRUB's variable, not the shell's
  printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\n' "$uuid" >"$WORK/early.cfg"
  cp "$WORK/early.cfg" "$MNT/tmp/podplane-early.cfg"
  run chroot "$MNT" grub-mkimage -O arm64-efi -o /tmp/BOOTAA64.EFI -p /boot/grub -c /tmp/podplane-early.cfg \
    part_gpt part_msdos ext2 fat search search_fs_uuid normal linux configfile echo gzio efi_gop
  mv "$MNT/tmp/BOOTAA64.EFI" "$WORK/BOOTAA64.EFI"
  rm -f "$MNT/tmp/podplane-early.cfg"
}

install_grub() {
  local uuid=$1 m
  for m in dev dev/pts proc sys; do
    mount --bind "/$m" "$MNT/$m"
  done
  if [[ "$FIRMWARE" == efi ]]; then
    make_efi_image "$uuid"
  else
    run chroot "$MNT" grub-install --target=i386-pc --no-floppy --boot-directory=/boot "$LOOP"
  fi
  for m in dev/pts dev proc sys; do
    umount "$MNT/$m"
  done
}

main() {
  [[ -f "$TAR" && -n "$OUT" ]] || die "usage: make-disk.sh ROOTFS_TAR OUT_QCOW2 [SIZE_MIB]"
  [[ "$FIRMWARE" == bios || "$FIRMWARE" == efi ]] || die "firmware must be bios or efi, not '$FIRMWARE'"
  [[ $(id -u) -eq 0 ]] || die "needs root (loop devices and mount)"
  trap cleanup EXIT
  # A cancelled build (SIGTERM from the pipeline, Ctrl-C, a closed terminal) still unmounts
  # and detaches: the traps exit, the EXIT trap cleans up.
  trap 'exit 143' TERM
  trap 'exit 130' INT
  trap 'exit 129' HUP
  WORK=$(mktemp -d "$(dirname "$OUT")/.make-disk.XXXXXX")
  MNT="$WORK/mnt"
  mkdir -p "$MNT"
  local raw="$WORK/disk.raw" uuid esp_uuid=""
  partition_disk "$raw"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  run mkfs.ext4 -q -L root -U "$uuid" "${LOOP}p1"
  mount "${LOOP}p1" "$MNT"
  run tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$TAR" -C "$MNT"
  if [[ "$FIRMWARE" == efi ]]; then
    # A FAT volume ID is 8 hex digits; fstab and GRUB spell it XXXX-XXXX.
    esp_uuid=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F')
    run mkfs.vfat -F 32 -n EFI -i "$esp_uuid" "${LOOP}p15" >/dev/null
    esp_uuid="${esp_uuid:0:4}-${esp_uuid:4:4}"
    mkdir -p "$MNT/boot/efi"
  fi
  write_boot_config "$uuid" "$esp_uuid"
  install_grub "$uuid"
  if [[ "$FIRMWARE" == efi ]]; then
    run mmd -i "${LOOP}p15" ::/EFI ::/EFI/BOOT
    run mcopy -i "${LOOP}p15" "$WORK/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
    mdir -i "${LOOP}p15" ::/EFI/BOOT/BOOTAA64.EFI >/dev/null || die "no EFI/BOOT/BOOTAA64.EFI on the ESP after mcopy"
  fi
  umount "$MNT"
  partx -d "$LOOP"
  losetup -d "$LOOP"
  LOOP=""
  run qemu-img convert -c -f raw -O qcow2 "$raw" "$OUT"
  log "wrote $OUT (root UUID $uuid)"
}

main "$@"
