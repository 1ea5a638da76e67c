#!/usr/bin/env bats
# stage_file / commit_staged (lib/common.sh), the boot path's write-if-changed, as on a VM
# (PODPLANE_ROOT empty, so owners are set): files are written at commit with their modes, one
# mkdir makes every missing staging (and parent) directory, one chown per owner, one mv per
# directory; unchanged text writes nothing.

bats_require_minimum_version 1.5.0

setup() {
  COMMON="$BATS_TEST_DIRNAME/../../scripts/vmconfig/opt/podplane/lib/common.sh"
  D="$BATS_TEST_TMPDIR/fs"
  LOG="$BATS_TEST_TMPDIR/calls"
  mkdir -p "$D/etc" "$BATS_TEST_TMPDIR/bin"
  : >"$LOG"
  local name
  # mkdir, mv and rm run for real after being recorded; chown is only recorded.
  for name in mkdir mv rm; do
    printf '#!/usr/bin/env bash\necho "%s $*" >>"%s"\nexec %s "$@"\n' "$name" "$LOG" "$(command -v "$name")" >"$BATS_TEST_TMPDIR/bin/$name"
  done
  printf '#!/usr/bin/env bash\necho "chown $*" >>"%s"\n' "$LOG" >"$BATS_TEST_TMPDIR/bin/chown"
  chmod +x "$BATS_TEST_TMPDIR/bin"/*
}

# in_vm SCRIPT: runs SCRIPT with common.sh sourced, PODPLANE_ROOT empty, the recording PATH.
in_vm() {
  run --separate-stderr env -u PODPLANE_ROOT PATH="$BATS_TEST_TMPDIR/bin:$PATH" D="$D" COMMON="$COMMON" \
    bash -c 'set -euo pipefail; source "$COMMON"; '"$1"
}

@test "first commit: one mkdir for all staging and parent directories, one chown per owner, one mv per directory" {
  in_vm '
    stage_file "$D/etc/a.env" 0640 "A=1"$'"'\n'"' root:svc-a
    stage_file "$D/etc/b.env" 0600 "B=2"$'"'\n'"' root:root
    stage_file "$D/room/etc/config.json" 0640 "{}" root:svc-a
    stage_file "$D/room/etc/kubeconfig" 0600 "k" admin:admin
    stage_file "$D/etc/plain" 0644 "p"
    echo "count=$STAGED_COUNT"
    commit_staged
    echo "count=$STAGED_COUNT"'
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$output" = $'count=5\ncount=0' ]
  [ "$(cat "$D/etc/a.env")" = "A=1" ]
  [ "$(cat "$D/room/etc/config.json")" = "{}" ]
  [ "$(stat -c %a "$D/etc/a.env" "$D/etc/b.env" "$D/room/etc/config.json" "$D/room/etc/kubeconfig" "$D/etc/plain")" = $'640\n600\n640\n600\n644' ]
  # the room's directory did not exist: made 0755; the staging directories 0700, left empty
  [ "$(stat -c %a "$D/room" "$D/room/etc" "$D/room/etc/.staged" "$D/etc/.staged")" = $'755\n755\n700\n700' ]
  [ -z "$(find "$D" -path '*/.staged/*')" ]
  [ "$(grep -c '^mkdir ' "$LOG")" -eq 1 ]
  [ "$(grep -c '^mv ' "$LOG")" -eq 2 ]
  not_rm=$(grep -c '^rm ' "$LOG" || true)
  [ "$not_rm" -eq 0 ]
  # one chown per owner, naming the staged copies (root:root too unless run as root)
  grep -qx "chown -- root:svc-a $D/etc/.staged/a.env $D/room/etc/.staged/config.json" "$LOG" ||
    grep -qx "chown -- root:svc-a $D/room/etc/.staged/config.json $D/etc/.staged/a.env" "$LOG"
  grep -qx "chown -- admin:admin $D/room/etc/.staged/kubeconfig" "$LOG"
  if ((EUID == 0)); then
    not_root=$(grep -c 'root:root' "$LOG" || true)
    [ "$not_root" -eq 0 ]
    [ "$(grep -c '^chown ' "$LOG")" -eq 2 ]
  else
    grep -qx "chown -- root:root $D/etc/.staged/b.env" "$LOG"
    [ "$(grep -c '^chown ' "$LOG")" -eq 3 ]
  fi
}

@test "unchanged text stages nothing and forks nothing; a changed file replaces a leftover of an interrupted run" {
  printf 'A=1\n' >"$D/etc/a.env"
  mkdir -m 0700 "$D/etc/.staged"
  # a leftover, world-readable: the new staged copy must not keep its mode
  printf 'old' >"$D/etc/.staged/b.env"
  chmod 0666 "$D/etc/.staged/b.env"
  in_vm '
    stage_file "$D/etc/a.env" 0640 "A=1"$'"'\n'"'
    echo "changed=$WRITE_CHANGED count=$STAGED_COUNT"
    stage_file "$D/etc/b.env" 0600 "B=1"
    stage_file "$D/etc/b.env" 0600 "B=2"
    echo "changed=$WRITE_CHANGED count=$STAGED_COUNT"
    commit_staged'
  [ "$status" -eq 0 ]
  [ "$output" = $'changed=0 count=0\nchanged=1 count=1' ]
  [ "$(cat "$D/etc/b.env")" = "B=2" ]
  [ "$(stat -c %a "$D/etc/b.env")" = 600 ]
  [ -z "$(grep '^mkdir ' "$LOG" || true)" ]
  [ "$(grep -c '^rm ' "$LOG")" -eq 1 ]
  [ "$(grep -c '^mv ' "$LOG")" -eq 1 ]
}
