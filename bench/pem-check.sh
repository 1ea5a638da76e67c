#!/usr/bin/env bash
# Benchmark: the delivery watcher's PEM check as it runs now (check_pem: one whole-text match,
# the line walk only for a file that does not match) against the line walk alone (pem_walk, what
# check_pem did for every file before), on the same files, side by side, N rounds each.
#
#   bash bench/pem-check.sh [--rounds N] [FILE ...]
#
# Without files it makes a delivery's worth with openssl in a temporary directory: 13 EC
# certificates (.crt) and 12 EC keys (.key), as Nstance delivers and nstance-agent generates them.
# Prints ms per file for each and the ratio walk / check_pem. Host time: under TCG both are slower
# by a similar factor (it is bash, no fork).
set -euo pipefail

rounds=20
files=()
while (($# > 0)); do
  case "$1" in
    --rounds)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || {
        echo "bench pem-check: --rounds needs a positive integer, found '${2:-}'" >&2
        exit 2
      }
      rounds=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      files+=("$1")
      shift
      ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../scripts/vmconfig/opt/podplane/lib/common.sh
source "$here/scripts/vmconfig/opt/podplane/lib/common.sh"
# shellcheck source=SCRIPTDIR/../scripts/vmconfig/opt/podplane/lib/deliveries.sh
source "$here/scripts/vmconfig/opt/podplane/lib/deliveries.sh"

if ((${#files[@]} == 0)); then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for i in $(seq 1 13); do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench-$i" \
      -keyout "$tmp/s$i.key" -out "$tmp/s$i.crt" 2>/dev/null
    files+=("$tmp/s$i.crt")
    ((i > 12)) || files+=("$tmp/s$i.key")
  done
fi

declare -a names=() texts=()
for f in "${files[@]}"; do
  IFS= read -r -d '' text <"$f" || true
  names+=("${f##*/}")
  texts+=("$text")
done

# time_us FUNCTION: microseconds for ROUNDS passes over every file; any refusal is an error.
time_us() {
  local fn=$1 start end r i
  start=$EPOCHREALTIME
  for ((r = 0; r < rounds; r++)); do
    for i in "${!names[@]}"; do
      "$fn" "${names[i]}" "${texts[i]}" || {
        echo "bench pem-check: $fn refused ${names[i]}: $DELIVERY_REASON" >&2
        exit 1
      }
    done
  done
  end=$EPOCHREALTIME
  echo $((${end/[.,]/} - ${start/[.,]/}))
}

walk=$(time_us pem_walk)
now=$(time_us check_pem)
per_file() { awk -v us="$1" -v n="$((rounds * ${#names[@]}))" 'BEGIN { printf "%.3f", us / n / 1000 }'; }
echo "bench pem-check: ${#names[@]} files × $rounds rounds, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "| check | ms per file |"
echo "|---|---:|"
echo "| line walk alone (pem_walk, before) | $(per_file "$walk") |"
echo "| check_pem (whole-text match first) | $(per_file "$now") |"
awk -v a="$walk" -v b="$now" 'BEGIN { printf "ratio walk / check_pem: %.1f×\n", a / b }'
