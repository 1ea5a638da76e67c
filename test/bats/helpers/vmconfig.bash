#!/usr/bin/env bash
# Common setup for the vmconfig bats suites: a temporary PODPLANE_ROOT, stubs on PATH
# (systemctl, dpkg, logger, hostname, ip) and helpers to install a kind and write
# user-data.env.

# shellcheck source=SCRIPTDIR/stubs.bash
source "${BATS_TEST_DIRNAME}/helpers/stubs.bash"

# Used by the .bats files that load this helper.
VMCONFIG_TREE="$(cd "${BATS_TEST_DIRNAME}/../../scripts/vmconfig" && pwd)"
export VMCONFIG_TREE BIN="$VMCONFIG_TREE/opt/podplane/bin"
export KNC_SERVICES="nstance-agent fluent-bit containerd kubelet netsy kube-apiserver kube-scheduler kube-controller-manager"
export KND_SERVICES="nstance-agent fluent-bit containerd kubelet"

vmconfig_setup() {
  export PODPLANE_ROOT="$BATS_TEST_TMPDIR/root"
  export STUB_LOG="$BATS_TEST_TMPDIR/calls.log"
  export STUB_STATE="$BATS_TEST_TMPDIR/stub-state"
  mkdir -p "$PODPLANE_ROOT"
  : >"$STUB_LOG"
  : >"$STUB_LOG.calls"
  make_stubs "$BATS_TEST_TMPDIR/bin"
  printf '#!/usr/bin/env bash\necho node-1\n' >"$BATS_TEST_TMPDIR/bin/hostname"
  cat >"$BATS_TEST_TMPDIR/bin/ip" <<'STUB'
#!/usr/bin/env bash
case "$*" in
  "-o addr show")
    echo "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever"
    echo "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\\       valid_lft 86313sec preferred_lft 86313sec"
    echo "2: eth0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic mngtmpaddr \\       valid_lft 86313sec preferred_lft 14313sec"
    echo "2: eth0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever preferred_lft forever"
    ;;
  *) exit 2 ;;
esac
STUB
  chmod +x "$BATS_TEST_TMPDIR/bin/hostname" "$BATS_TEST_TMPDIR/bin/ip"
  export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

# install_kind KIND: runs install.sh with an empty stage (the vmconfig tree and units).
install_kind() {
  local stage="$BATS_TEST_TMPDIR/empty-stage"
  mkdir -p "$stage"
  : >"$stage/artifacts.tsv"
  bash "$BIN/install.sh" "$1" "$stage" 2>/dev/null
  clear_calls
}

# write_user_data KIND [NAME=value ...]: user-data.env as the rendered user-data writes it.
write_user_data() {
  local kind=$1 kv
  shift
  mkdir -p "$PODPLANE_ROOT/opt/podplane/etc"
  {
    printf "PODPLANE_KIND='%s'\nPROVIDER='qemu'\nINSTANCE_ID='i-0123'\nCLUSTER_ID='c-test'\n" "$kind"
    for kv in "$@"; do
      printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"
    done
  } >"$PODPLANE_ROOT/opt/podplane/etc/user-data.env"
  chmod 0600 "$PODPLANE_ROOT/opt/podplane/etc/user-data.env"
}

# boot KIND [NAME=value ...]: install, user-data, first configure run; then a clean call log.
boot() {
  install_kind "$1"
  write_user_data "$@"
  bash "$BIN/configure.sh" 2>/dev/null
  clear_calls
}

clear_calls() { : >"$STUB_LOG" && : >"$STUB_LOG.calls"; }

# The services systemctl was asked to $1 (start, restart, stop, ...), sorted, space-separated.
units_called() {
  calls "systemctl $1" | cut -d ' ' -f 3- | tr ' ' '\n' | grep -v '^-' | sed 's/\.service$//' | sort | tr '\n' ' ' | sed 's/ $//'
}

sorted() { tr ' ' '\n' <<<"$*" | sort | tr '\n' ' ' | sed 's/ $//'; }

env_file() { printf '%s' "$PODPLANE_ROOT/opt/env/$1.env"; }

# not CMD...: fails when CMD succeeds (a bare `! cmd` does not fail a bats test).
not() {
  if "$@"; then
    echo "expected to fail: $*" >&2
    return 1
  fi
}

# exec_counting_path: a directory to use as the whole PATH in which every command a vmconfig
# boot script may run is a shim that appends its name to $EXEC_LOG and runs the real program
# (the stubs with the normal PATH, so their own internals are not counted). A command missing
# from the list is "command not found" and fails the script: a new external command on the
# boot path has to be added here on purpose. Sets COUNTED_PATH to the directory.
readonly COUNTED_COMMANDS="bash flock sha256sum mv rm mkdir install ip"
readonly COUNTED_STUBS="systemctl logger hostname"
exec_counting_path() {
  local dir="$BATS_TEST_TMPDIR/counted" name real
  export EXEC_LOG="$BATS_TEST_TMPDIR/exec.log" REAL_PATH="$PATH"
  mkdir -p "$dir"
  : >"$EXEC_LOG"
  # The shims' $EXEC_LOG, $REAL_PATH and "$@" expand when they run, not here.
  # shellcheck disable=SC2016
  for name in $COUNTED_COMMANDS; do
    real=$(PATH="${PATH#"$BATS_TEST_TMPDIR/bin:"}" command -v "$name")
    printf '#!%s\nprintf "%%s\\n" %s >>"$EXEC_LOG"\nexec %s "$@"\n' "$BASH" "$name" "$real" >"$dir/$name"
  done
  # shellcheck disable=SC2016
  for name in $COUNTED_STUBS; do
    printf '#!%s\nprintf "%%s\\n" %s >>"$EXEC_LOG"\nPATH=$REAL_PATH exec %s %s "$@"\n' "$BASH" "$name" "$BASH" "$BATS_TEST_TMPDIR/bin/$name" >"$dir/$name"
  done
  chmod +x "$dir"/*
  export COUNTED_PATH=$dir
}
