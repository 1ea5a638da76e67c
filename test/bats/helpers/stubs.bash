#!/usr/bin/env bash
# Stubs on PATH for the vmconfig bats suites. Each records its argv in $STUB_LOG
# ("name arg arg ..."). systemctl answers is-active / is-enabled from $STUB_STATE/<unit>.active
# and .enabled marker files, which its start/restart/stop/enable/disable calls maintain.

make_stubs() {
  local bin=$1
  mkdir -p "$bin" "$STUB_STATE"
  cat >"$bin/systemctl" <<'STUB'
#!/usr/bin/env bash
echo "systemctl $*" >>"$STUB_LOG"
verb=${1:-}
shift || true
units=()
for a in "$@"; do [[ "$a" == -* ]] || units+=("$a"); done
case "$verb" in
  is-active) [[ -f "$STUB_STATE/${units[0]}.active" ]] ;;
  is-enabled) [[ -f "$STUB_STATE/${units[0]}.enabled" ]] ;;
  start | restart) for u in "${units[@]}"; do touch "$STUB_STATE/$u.active"; done ;;
  stop) for u in "${units[@]}"; do rm -f "$STUB_STATE/$u.active"; done ;;
  enable) for u in "${units[@]}"; do touch "$STUB_STATE/$u.enabled"; done ;;
  disable) for u in "${units[@]}"; do rm -f "$STUB_STATE/$u.enabled"; done ;;
  *) ;;
esac
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
