#!/usr/bin/env bats
# configure.sh's no-op fast path (lib/noop.sh): after a clean run, a rerun with nothing changed
# and every service still running exits before loading a table or calling systemctl; any change
# to a file that run read or wrote, a service without a process, an interrupted stamp or a
# failed run means a full run. "Running" is read from the unit's cgroup, faked here under
# PODPLANE_ROOT/sys/fs/cgroup from the systemctl stub's state.

bats_require_minimum_version 1.5.0
load helpers/vmconfig

setup() {
  vmconfig_setup
  STAMP="$PODPLANE_ROOT/opt/podplane/state/noop.stamp"
  SLICE="$PODPLANE_ROOT/sys/fs/cgroup/system.slice"
}

# cgroups: a cgroup with one process for every unit the systemctl stub holds active, none for the others.
cgroups() {
  local f unit
  rm -rf "$SLICE"
  mkdir -p "$SLICE"
  for f in "$STUB_STATE"/*.service.active; do
    [[ -e "$f" ]] || continue
    unit=${f##*/}
    unit=${unit%.active}
    mkdir -p "$SLICE/$unit"
    echo 4242 >"$SLICE/$unit/cgroup.procs"
  done
}

# a clean knc boot, its stamp, and the cgroups of what it started.
booted() {
  boot knc "$@"
  [ -f "$STAMP" ]
  [ "$(tail -n 1 "$STAMP")" = end ]
  cgroups
}

full_run() {
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"podplane-restart: started:"* ]]
  [[ "$stderr" != *"no-op:"* ]]
}

@test "the stamp lists the services' inputs, configure's own files and the services left running" {
  booted
  grep -qx 'file /opt/env/kubelet.env' "$STAMP"
  grep -qx 'file /opt/podplane/etc/mutable.env' "$STAMP"
  grep -qx 'file /opt/nstance-agent/identity/ca.crt' "$STAMP"
  # certificates Nstance has not delivered yet are watched for their arrival
  grep -qx 'absent /opt/crt/kubelet.server.crt' "$STAMP"
  grep -qx 'unit nstance-agent.service' "$STAMP"
  grep -qx 'unit containerd.service' "$STAMP"
}

@test "nothing changed and everything runs: exits before any table or systemctl, says so, one flock and one logger" {
  booted
  exec_counting_path
  snapshot >"$BATS_TEST_TMPDIR/before"
  run --separate-stderr env PATH="$COUNTED_PATH" "$BASH" "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"podplane-configure: no-op: started: none; restarted: none; stopped: none; unchanged: "*"nstance-agent"* ]]
  [[ "$stderr" == *"timings: check="*ms* ]]
  sort "$EXEC_LOG" | uniq -c
  [ -z "$(grep -v -e '^flock$' -e '^logger$' "$EXEC_LOG")" ]
  [ -z "$(invocations systemctl)" ]
  snapshot >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "a changed input (mutable.env edited) means a full run that applies it, then the fast path again" {
  booted
  sleep 0.02
  sed -i "s/^KUBE_LOG_LEVEL=.*/KUBE_LOG_LEVEL='6'/" "$PODPLANE_ROOT/opt/podplane/etc/mutable.env"
  full_run
  [[ " $(units_called restart) " == *" kubelet "* ]]
  grep -q 'KUBE_LOG_LEVEL="6"' "$(env_file kubelet)"
  cgroups
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"no-op:"* ]]
}

@test "a hand-edited output (an env file) is rewritten by a full run (the service, started with the original, is left alone)" {
  booted
  sleep 0.02
  echo 'INSTANCE_ID="forged"' >"$(env_file nstance-agent)"
  full_run
  ! grep -q forged "$(env_file nstance-agent)"
  [ -z "$(calls 'systemctl (restart|start|stop)')" ]
}

@test "a delivered file that arrives (absent before) means a full run" {
  booted
  mkdir -p "$PODPLANE_ROOT/opt/crt"
  sleep 0.02
  cp "$PODPLANE_ROOT/opt/nstance-agent/identity/ca.crt" "$PODPLANE_ROOT/opt/crt/ca.crt"
  full_run
}

@test "a service without a process (stopped or crashed) means a full run that starts it" {
  booted
  rm -rf "$SLICE/nstance-agent.service"
  rm -f "$STUB_STATE/nstance-agent.service.active"
  full_run
  [ "$(units_called start)" = nstance-agent ]
}

@test "a stamp cut short (no end line) or missing means a full run" {
  booted
  sed -i '$d' "$STAMP"
  full_run
  [ "$(tail -n 1 "$STAMP")" = end ]
  rm -f "$STAMP"
  full_run
}

@test "a failed run leaves no stamp that passes: the next run is a full one" {
  booted
  sleep 0.02
  echo nstance-agent.service >"$STUB_STATE/fail-start"
  rm -f "$STUB_STATE/nstance-agent.service.active"
  rm -rf "$SLICE/nstance-agent.service"
  run --separate-stderr bash "$BIN/configure.sh"
  [ "$status" -eq 1 ]
  [ "$(tail -n 1 "$STAMP" 2>/dev/null)" != end ]
  # systemd's Restart= brought it back meanwhile: the stamp still does not pass
  touch "$STUB_STATE/nstance-agent.service.active"
  cgroups
  rm -f "$STUB_STATE/fail-start"
  clear_calls
  full_run
}
