#!/usr/bin/env bash
# A vmconfig tree laid out with one room per service (opt/podplane/services/<svc>/<svc>.service
# and run.sh) and a services.tsv in the contract's columns (service kinds when user variables
# inputs), built in the test's tmpdir from the repository's tree: the suites for install.sh,
# nstance-recv-watch.sh and restart.sh run against it until the rooms land in the tree itself.
# Also stubs that these suites need beyond helpers/stubs.bash: chown (records, changes nothing:
# the tests do not run as root) and a systemd-tmpfiles that makes the 'd' directories with their
# modes (and records the owners it was asked for).

# make_fixture_tree: FIXTURE_TREE, a copy of the repository's vmconfig tree with rooms.
make_fixture_tree() {
  local line svc user inputs row
  local -a f
  FIXTURE_TREE="$BATS_TEST_TMPDIR/tree"
  mkdir -p "$FIXTURE_TREE"
  cp -a "$VMCONFIG_TREE/." "$FIXTURE_TREE/"
  rm -rf "$FIXTURE_TREE/opt/podplane/libexec"
  local tsv="$FIXTURE_TREE/opt/podplane/share/services.tsv" rows=""
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    IFS=$'\t' read -r -a f <<<"$line"
    svc=${f[0]}
    if ((${#f[@]} >= 6)); then
      # Already in the contract's columns (the rooms have landed): keep the row as it is.
      row=$line
    else
      user=root
      case "$svc" in nstance-agent | zot | netsy | kube-apiserver | kube-scheduler | kube-controller-manager) user=$svc ;; esac
      inputs=-
      [[ "$svc" != kube-scheduler ]] || inputs=/opt/kube-scheduler/etc/kube-scheduler.yaml
      row="$svc"$'\t'"${f[1]}"$'\t'"${f[2]}"$'\t'"$user"$'\t'"${f[3]}"$'\t'"$inputs"
    fi
    rows+="$row"$'\n'
    mkdir -p "$FIXTURE_TREE/opt/podplane/services/$svc"
    if [[ ! -f "$FIXTURE_TREE/opt/podplane/services/$svc/$svc.service" ]]; then
      printf '[Unit]\nDescription=fixture %s\nConditionPathExists=/opt/env/%s.env\n\n[Service]\nExecStart=/opt/podplane/services/%s/run.sh\n\n[Install]\nWantedBy=multi-user.target\n' \
        "$svc" "$svc" "$svc" >"$FIXTURE_TREE/opt/podplane/services/$svc/$svc.service"
      printf '#!/usr/bin/env bash\nexec sleep infinity\n' >"$FIXTURE_TREE/opt/podplane/services/$svc/run.sh"
    fi
    rm -f "$FIXTURE_TREE/etc/systemd/system/$svc.service"
  done <"$tsv"
  printf '#service\tkinds\twhen\tuser\tvariables\tinputs\n%s' "$rows" >"$tsv"
  FIXTURE_BIN="$FIXTURE_TREE/opt/podplane/bin"
  export FIXTURE_TREE FIXTURE_BIN
}

# fixture_stubs: chown and systemd-tmpfiles as described above, in the stub directory.
fixture_stubs() {
  local bin="$BATS_TEST_TMPDIR/bin"
  cat >"$bin/chown" <<'STUB'
#!/usr/bin/env bash
echo "chown $*" >>"$STUB_LOG"
STUB
  cat >"$bin/systemd-tmpfiles" <<'STUB'
#!/usr/bin/env bash
echo "systemd-tmpfiles $*" >>"$STUB_LOG"
root=""
for a in "$@"; do
  case "$a" in
    --root=*) root=${a#--root=} ;;
    -*) ;;
    *)
      while read -r type path mode user group _; do
        [[ "$type" == d ]] || continue
        mkdir -p "$root$path" && chmod "$mode" "$root$path"
        echo "tmpfiles-owner $path $user:$group" >>"$STUB_LOG"
      done <"$a"
      ;;
  esac
done
STUB
  chmod +x "$bin/chown" "$bin/systemd-tmpfiles"
}

# fixture_install KIND: install.sh of the fixture tree with an empty stage; the installed
# scripts (under $PODPLANE_ROOT/opt/podplane/bin) are what the suites then run, as on a VM.
fixture_install() {
  local stage="$BATS_TEST_TMPDIR/empty-stage"
  mkdir -p "$stage"
  : >"$stage/artifacts.tsv"
  bash "$FIXTURE_BIN/install.sh" "$1" "$stage" 2>/dev/null
  INSTALLED_BIN="$PODPLANE_ROOT/opt/podplane/bin"
  export INSTALLED_BIN
}
