#!/usr/bin/env bash
# Stubs on PATH for the vmconfig bats suites. Each records its argv in $STUB_LOG
# ("name arg arg ..."), except that systemctl records a unit-changing verb (start, restart,
# stop, enable, disable) once per unit ("systemctl start kubelet.service"), so that a log
# reads the same whether the units came in one call or many; every systemctl invocation as
# given goes to $STUB_CALLS (default $STUB_LOG.calls), which is what call counts use.
# systemctl answers is-active / is-enabled (one line per unit, like systemd: exit 0 when any is
# active/enabled) from $STUB_STATE/<unit>.active and .enabled marker files, which its
# start/restart/stop/enable/disable calls maintain (a unit with a $STUB_STATE/<unit>.activating
# marker is `activating`, a start under way: a start or restart makes it active); a unit listed
# in $STUB_STATE/fail-start does not start; one listed in $STUB_STATE/condition-fails is skipped
# as systemd skips a unit whose ConditionPathExists= does not hold (start exits 0, the unit stays
# inactive, `show -p ConditionResult` says no). systemd-sysusers adds the users of the files it is
# given to $PODPLANE_ROOT/etc/passwd; systemd-tmpfiles only records its call.

make_stubs() {
  local bin=$1
  mkdir -p "$bin" "$STUB_STATE"
  cat >"$bin/systemctl" <<'STUB'
#!/usr/bin/env bash
echo "systemctl $*" >>"${STUB_CALLS:-$STUB_LOG.calls}"
verb=${1:-}
shift || true
units=()
quiet=""
for a in "$@"; do
  case "$a" in
    --quiet | -q) quiet=1 ;;
    -*) ;;
    *) units+=("$a") ;;
  esac
done
say() { [[ -n "$quiet" ]] || echo "$1"; }
case "$verb" in
  start | restart | stop | enable | disable) for u in "${units[@]}"; do echo "systemctl $verb $u" >>"$STUB_LOG"; done ;;
  *) echo "systemctl $verb $*" >>"$STUB_LOG" ;;
esac
rc=0
case "$verb" in
  is-active)
    rc=3
    for u in "${units[@]}"; do
      if [[ -f "$STUB_STATE/$u.active" ]]; then
        say active && rc=0
      elif [[ -f "$STUB_STATE/$u.activating" ]]; then
        say activating
      else
        say inactive
      fi
    done
    ;;
  is-enabled)
    rc=1
    for u in "${units[@]}"; do
      if [[ -f "$STUB_STATE/$u.enabled" ]]; then say enabled && rc=0; else say disabled; fi
    done
    ;;
  start | restart)
    for u in "${units[@]}"; do
      if grep -qx "$u" "$STUB_STATE/fail-start" 2>/dev/null; then
        rc=1
      elif grep -qx "$u" "$STUB_STATE/condition-fails" 2>/dev/null; then
        : # skipped by a ConditionPathExists= that does not hold: inactive, and start exits 0
      else
        rm -f "$STUB_STATE/$u.activating"
        touch "$STUB_STATE/$u.active"
      fi
    done
    ;;
  show)
    for u in "${units[@]}"; do
      [[ "$u" != Id && "$u" != ConditionResult ]] || continue
      echo "Id=$u"
      if grep -qx "$u" "$STUB_STATE/condition-fails" 2>/dev/null; then echo ConditionResult=no; else echo ConditionResult=yes; fi
      echo
    done
    ;;
  stop) for u in "${units[@]}"; do rm -f "$STUB_STATE/$u.active" "$STUB_STATE/$u.activating"; done ;;
  enable) for u in "${units[@]}"; do touch "$STUB_STATE/$u.enabled"; done ;;
  disable) for u in "${units[@]}"; do rm -f "$STUB_STATE/$u.enabled"; done ;;
  *) ;;
esac
exit "$rc"
STUB
  cat >"$bin/systemd-sysusers" <<'STUB'
#!/usr/bin/env bash
echo "systemd-sysusers $*" >>"$STUB_LOG"
for a in "$@"; do
  [[ -f "$a" ]] || continue
  while read -r type name _; do
    [[ "$type" == u ]] && echo "$name:x:999:999::/:/usr/sbin/nologin" >>"$PODPLANE_ROOT/etc/passwd"
  done <"$a"
done
exit 0
STUB
  cat >"$bin/systemd-tmpfiles" <<'STUB'
#!/usr/bin/env bash
echo "systemd-tmpfiles $*" >>"$STUB_LOG"
STUB
  cat >"$bin/dpkg" <<'STUB'
#!/usr/bin/env bash
echo "dpkg $*" >>"$STUB_LOG"
for a in "$@"; do
  [[ "$a" == *.deb ]] || continue
  pkg=$(dpkg-deb -f "$a" Package) && ver=$(dpkg-deb -f "$a" Version) && echo "$ver" >"$STUB_STATE/dpkg.$pkg"
done
STUB
  cat >"$bin/dpkg-query" <<'STUB'
#!/usr/bin/env bash
echo "dpkg-query $*" >>"$STUB_LOG"
pkg=${*: -1}
[[ -f "$STUB_STATE/dpkg.$pkg" ]] || exit 1
tr -d '\n' <"$STUB_STATE/dpkg.$pkg"
STUB
  cat >"$bin/logger" <<'STUB'
#!/usr/bin/env bash
echo "logger $*" >>"$STUB_LOG"
STUB
  chmod +x "$bin"/*
}

# Lines of the stub log that start with "$1" (e.g. "systemctl restart").
calls() { grep -E "^$1( |$)" "$STUB_LOG" || true; }

# systemctl invocations as given (one line per call) that start with "$1" (e.g. "systemctl start").
invocations() { grep -E "^$1( |$)" "${STUB_CALLS:-$STUB_LOG.calls}" || true; }
