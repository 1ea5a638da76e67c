# shellcheck shell=bash
# configure.sh's no-op fast path. A full run that ended clean leaves a stamp,
# /opt/podplane/state/noop.stamp, written last (so its mtime is the end of that run): one line
# per file it read or wrote ("file PATH", or "absent PATH" for one that did not exist: the
# env files, configs and delivered certificates restart.sh digests, user-data.env, detected.env,
# mutable.env, the identity files, admin's keys, the vmconfig scripts and tables) and one per
# service it left running ("unit NAME.service"), then "end". The next run exits before loading
# a table or calling systemctl when every file is as the stamp says and not modified after it,
# and every such service still has a process in its cgroup (a stopped or crashed unit loses its
# cgroup; the full run then starts it). Anything else, and a stamp without its "end" line (an
# interrupted write), means a full run; a file that run writes is newer than the stamp, and a
# failed restart.sh empties it, so only a full run that succeeds makes it pass again. Writers of these files either hold the vmconfig lock (the delivery watcher,
# update-mutable-env.sh), as the check does, or run before configure (the user-data); a change
# made by hand during a full run may be missed until the next change. An in-place update of
# the vmconfig tree that keeps old mtimes must remove the stamp (install.sh does).
# Builtins only: sourced after lib/common.sh, never run.

readonly NOOP_STAMP="$PP_STATE/noop.stamp"
readonly CGROUP_SYSTEM_SLICE="$PODPLANE_ROOT/sys/fs/cgroup/system.slice"

# noop_check UNITS_TOO: 0 when the stamp is whole (ends in "end"), every file it lists is as
# it says and not modified after it, and (UNITS_TOO=1) every service it lists has a process;
# NOOP_UNITS lists those services.
declare -ga NOOP_UNITS=()
# The stamp is only read here (its mtime is compared, never written while read).
# shellcheck disable=SC2094
noop_check() {
  local units_too=$1 kind path pid ended=0
  NOOP_UNITS=()
  [[ -f "$NOOP_STAMP" ]] || return 1
  while read -r kind path; do
    case "$kind" in
      file) [[ -f "$PODPLANE_ROOT$path" && ! "$PODPLANE_ROOT$path" -nt "$NOOP_STAMP" ]] || return 1 ;;
      absent) [[ ! -e "$PODPLANE_ROOT$path" ]] || return 1 ;;
      unit)
        NOOP_UNITS+=("${path%.service}")
        ((units_too == 1)) || continue
        pid=""
        [[ -r "$CGROUP_SYSTEM_SLICE/$path/cgroup.procs" ]] || return 1
        read -r pid <"$CGROUP_SYSTEM_SLICE/$path/cgroup.procs" || true
        [[ -n "$pid" ]] || return 1
        ;;
      end)
        ended=1
        break
        ;;
      *) return 1 ;;
    esac
  done <"$NOOP_STAMP"
  ((ended == 1))
}

# noop_unchanged: the fast path's test (see above).
noop_unchanged() { noop_check 1; }

# noop_forget: the stamp no longer holds (a run failed). A builtin truncation: a stamp without
# its "end" line never passes.
noop_forget() {
  [[ ! -f "$NOOP_STAMP" ]] || : >"$NOOP_STAMP"
}

# noop_watch VAR PATH...: "file PATH" or "absent PATH" lines for the VM paths given, into VAR.
noop_watch() {
  local -n _nw_out=$1
  local path
  shift
  for path in "$@"; do
    [[ -n "$path" ]] || continue
    if [[ -f "$PODPLANE_ROOT$path" ]]; then _nw_out+="file $path"$'\n'; else _nw_out+="absent $path"$'\n'; fi
  done
}

# noop_record LINES: the stamp after a clean full run (LINES from restart.sh and configure.sh,
# then "end"). Left as it is when it already says the same and its files still hold, so that a
# run that changed nothing rewrites nothing.
noop_record() {
  local old text=$1$'end\n'
  read_file "$NOOP_STAMP" old
  [[ "$old" != "$text" ]] || ! noop_check 0 || return 0
  [[ -d "$PP_STATE" ]] || mkdir -p "$PP_STATE"
  printf '%s' "$text" >"$NOOP_STAMP"
}
