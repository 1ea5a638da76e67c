#!/usr/bin/env bash
# Lint every shell script the project ships (vmconfig, packer provisioners, CI, tests) with shellcheck and shfmt.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t scripts < <(git ls-files -co --exclude-standard -- '*.sh' '*.bash' '.ci/run' 'scripts/**' 'packer/**' | while read -r f; do
  [[ -f "$f" ]] || continue
  case "$f" in *.sh | *.bash | .ci/run) echo "$f" ;; *) head -c 64 "$f" | grep -qE '^#!.*\b(bash|sh)\b' && echo "$f" ;; esac
done | sort -u)
if ((${#scripts[@]} == 0)); then
  echo "lint-shell: no shell scripts found" >&2
  exit 1
fi
shellcheck -x -S style "${scripts[@]}"
shfmt -d -i 2 -ci "${scripts[@]}"
echo "lint-shell: ${#scripts[@]} scripts clean (shellcheck -x, shfmt -d)"
