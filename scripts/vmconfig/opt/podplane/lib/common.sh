#!/usr/bin/env bash
# Shared by every vmconfig script: logging, the paths (all under PODPLANE_ROOT), the data
# files (variables.tsv, services.tsv), write-if-changed, env-file quoting/parsing and the
# value checks. Sourced, never run.
# The constants and tables below are used by the scripts that source this file:
# shellcheck disable=SC2034

PODPLANE_ROOT="${PODPLANE_ROOT:-}"
# The vmconfig tree this file belongs to (/opt/podplane on a VM, the stage or repo copy otherwise).
VMCONFIG_HOME="$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)"
readonly PODPLANE_ROOT VMCONFIG_HOME
readonly VARIABLES_TSV="$VMCONFIG_HOME/share/variables.tsv"
readonly SERVICES_TSV="$VMCONFIG_HOME/share/services.tsv"
readonly PP_HOME="$PODPLANE_ROOT/opt/podplane"
readonly PP_ETC="$PP_HOME/etc"
readonly PP_STATE="$PP_HOME/state"
readonly PP_KIND_FILE="$PP_HOME/share/kind"
readonly USER_DATA_ENV="$PP_ETC/user-data.env"
readonly DETECTED_ENV="$PP_ETC/detected.env"
readonly MUTABLE_ENV="$PP_ETC/mutable.env"
readonly CONFIG_DIR="$PP_ETC/config"
readonly SERVICE_ENV_DIR="$PODPLANE_ROOT/opt/env"
readonly RECV_DIR="$PODPLANE_ROOT/opt/nstance-agent/recv"
readonly MAX_VALUE_BYTES=4096

LOG_TAG="podplane-${0##*/}"
LOG_TAG="${LOG_TAG%.sh}"

log() { printf '%s: %s\n' "$LOG_TAG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$LOG_TAG" "$*" >&2; }

# Errors go to stderr and, when logger exists, to the journal.
die() {
  printf '%s: error: %s\n' "$LOG_TAG" "$*" >&2
  if command -v logger >/dev/null 2>&1; then
    logger -t "$LOG_TAG" -p user.err -- "$*" 2>/dev/null || true
  fi
  exit 1
}

err_report() { printf '%s: error: failed at line %s\n' "$LOG_TAG" "$1" >&2; }

# write_if_changed DEST MODE < content: replaces DEST (via a temp file in the same directory)
# only when the content differs; always fixes the mode. Sets WRITE_CHANGED=1 when replaced.
WRITE_CHANGED=0
write_if_changed() {
  local dest=$1 mode=$2 tmp
  mkdir -p "${dest%/*}"
  tmp=$(mktemp "${dest%/*}/.${dest##*/}.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$dest" ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    chmod "$mode" "$dest"
    WRITE_CHANGED=0
  else
    mv -f "$tmp" "$dest"
    WRITE_CHANGED=1
  fi
}

# A JSON (and YAML/TOML basic) string literal; values are already free of control characters.
json_string() {
  local v=${1//\\/\\\\}
  printf '"%s"' "${v//\"/\\\"}"
}

# Single-quoted for bash (mutable.env, detected.env): 'it'\''s'.
quote_single() {
  local q="'\\''"
  printf "'%s'" "${1//\'/$q}"
}

# Double-quoted with \ " $ ` escaped: read the same by bash and by systemd's EnvironmentFile=.
quote_double() {
  local v=${1//\\/\\\\}
  v=${v//\"/\\\"}
  v=${v//\$/\\\$}
  v=${v//\`/\\\`}
  printf '"%s"' "$v"
}

# unquote VALUE: the inverse of both quote functions and of bare words, without eval.
# Prints the value; returns 1 on anything else (an unclosed quote, a bare special character).
unquote() {
  local rest=$1 out="" inner
  local re_single="^'([^']*)'(.*)$" re_double='^"(([^"\\]|\\.)*)"(.*)$'
  local re_escape='^\\(.)(.*)$' re_bare='^([A-Za-z0-9_./:@,+=%{}-]+)(.*)$' re_esc_in='^([^\\]*)\\(.)(.*)$'
  while [[ -n "$rest" ]]; do
    if [[ "$rest" =~ $re_single ]]; then
      out+=${BASH_REMATCH[1]}
      rest=${BASH_REMATCH[2]}
    elif [[ "$rest" =~ $re_double ]]; then
      inner=${BASH_REMATCH[1]}
      rest=${BASH_REMATCH[3]}
      while [[ "$inner" =~ $re_esc_in ]]; do
        out+=${BASH_REMATCH[1]}
        case "${BASH_REMATCH[2]}" in
          [\"\\\$\`]) out+=${BASH_REMATCH[2]} ;;
          *) out+="\\${BASH_REMATCH[2]}" ;;
        esac
        inner=${BASH_REMATCH[3]}
      done
      out+=$inner
    elif [[ "$rest" =~ $re_escape ]]; then
      out+=${BASH_REMATCH[1]}
      rest=${BASH_REMATCH[2]}
    elif [[ "$rest" =~ $re_bare ]]; then
      out+=${BASH_REMATCH[1]}
      rest=${BASH_REMATCH[2]}
    else
      return 1
    fi
  done
  printf '%s' "$out"
}

# read_env_file FILE ARRAY: parses NAME=VALUE lines (quoted as written by quote_single or
# quote_double) into the associative array named ARRAY, without sourcing. Dies on a bad line.
read_env_file() {
  local file=$1 line n=0 name value
  local -n into=$2
  local re='^([A-Z][A-Z0-9_]*)=(.*)$'
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ $re ]] || die "$file line $n: expected NAME=value"
    name=${BASH_REMATCH[1]}
    value=$(unquote "${BASH_REMATCH[2]}") || die "$file line $n: $name: the value is not quoted the way vmconfig writes values"
    into["$name"]=$value
  done <"$file"
}

# Rows of variables.tsv whose source matches the extended regex $1: "name<TAB>type<TAB>required<TAB>default".
variables_where() {
  awk -F '\t' -v src="^($1)\$" '!/^#/ && NF >= 5 && $2 ~ src { print $1 "\t" $3 "\t" $4 "\t" $5 }' "$VARIABLES_TSV"
}

# MUTABLE_TYPE[name]=type and MUTABLE_DEFAULT[name]=default for the 36 mutable variables,
# ALL_TYPE[name] for every known variable, MUTABLE_NAMES in file order.
declare -gA MUTABLE_TYPE=() MUTABLE_DEFAULT=() ALL_TYPE=() ALL_SOURCE=() ALL_REQUIRED=()
declare -ga MUTABLE_NAMES=()
load_variables() {
  local name src type req def
  while IFS=$'\t' read -r name src type req def _; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    ALL_TYPE[$name]=$type
    ALL_SOURCE[$name]=$src
    ALL_REQUIRED[$name]=$req
    if [[ "$src" == settable || "$src" == derived ]]; then
      MUTABLE_NAMES+=("$name")
      MUTABLE_TYPE[$name]=$type
      [[ "$def" == - ]] && def=""
      MUTABLE_DEFAULT[$name]=$def
    fi
  done <"$VARIABLES_TSV"
}

# Services of a kind, one "service<TAB>when<TAB>variables" line each, in services.tsv order.
services_for_kind() {
  awk -F '\t' -v kind="$1" '!/^#/ && NF >= 4 { n = split($2, ks, ","); for (i = 1; i <= n; i++) if (ks[i] == kind) print $1 "\t" $3 "\t" $4 }' "$SERVICES_TSV"
}

# The kind this image was baked for (written by install.sh).
image_kind() {
  [[ -f "$PP_KIND_FILE" ]] || die "$PP_KIND_FILE is missing: this image was not installed by install.sh"
  local kind
  kind=$(<"$PP_KIND_FILE")
  [[ "$kind" == knd || "$kind" == knc ]] || die "$PP_KIND_FILE: unknown kind '$kind'"
  printf '%s' "$kind"
}

readonly RE_HOST='[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?'
readonly RE_PORT='[0-9]{1,5}'

# check_value TYPE VALUE: prints the reason and returns 1 when VALUE is not a valid TYPE.
# Every value: at most MAX_VALUE_BYTES, no control character (NUL, CR, newline, tab, ...),
# no $ or backtick (nothing that a later consumer could take for an expansion).
check_value() {
  local type=$1 value=$2 item
  if ((${#value} > MAX_VALUE_BYTES)); then
    echo "longer than $MAX_VALUE_BYTES bytes"
    return 1
  fi
  if [[ "$value" == *[[:cntrl:]]* ]]; then
    echo "contains a control character (newline, carriage return, tab, ...)"
    return 1
  fi
  if [[ "$value" == *[\$\`]* ]]; then
    echo 'contains $ or a backtick'
    return 1
  fi
  case "$type" in
    bool) [[ "$value" == true || "$value" == false ]] || {
      echo "expected true or false"
      return 1
    } ;;
    port)
      if ! [[ "$value" =~ ^$RE_PORT$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
        echo "expected a port number 1-65535"
        return 1
      fi
      ;;
    level) [[ "$value" =~ ^([0-9]|10)$ ]] || {
      echo "expected a log level 0-10"
      return 1
    } ;;
    kind) [[ "$value" == knd || "$value" == knc ]] || {
      echo "expected knd or knc"
      return 1
    } ;;
    endpoint | endpoints)
      local IFS=,
      for item in $value; do
        [[ "$item" =~ ^[a-z][a-z0-9+.-]*://[^[:space:]/]+(/[^[:space:]]*)?$ || "$item" =~ ^($RE_HOST|\[[0-9A-Fa-f:.]+\]):$RE_PORT$ ]] || {
          echo "expected a URL or host:port, found '$item'"
          return 1
        }
        [[ "$type" == endpoints ]] || [[ "$item" == "$value" ]] || {
          echo "expected one URL or host:port"
          return 1
        }
      done
      ;;
    url) [[ -z "$value" || "$value" =~ ^https?://[^[:space:]/]+(/[^[:space:]]*)?$ ]] || {
      echo "expected an http(s) URL"
      return 1
    } ;;
    hostname) [[ -z "$value" || "$value" =~ ^$RE_HOST(:$RE_PORT)?$ ]] || {
      echo "expected a host name"
      return 1
    } ;;
    ip) [[ -z "$value" || "$value" =~ ^[0-9A-Fa-f:.]+$ ]] || {
      echo "expected an IP address"
      return 1
    } ;;
    path) [[ -z "$value" || "$value" =~ ^/[A-Za-z0-9._/-]*$ ]] || {
      echo "expected an absolute path"
      return 1
    } ;;
    list) [[ -z "$value" || "$value" =~ ^[A-Za-z0-9_.@-]+(,[A-Za-z0-9_.@-]+)*$ ]] || {
      echo "expected a comma-separated list of names"
      return 1
    } ;;
    word) [[ -z "$value" || "$value" =~ ^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]*$ ]] || {
      echo "expected a single word (letters, digits, _ . : / @ + = -)"
      return 1
    } ;;
    text) ;;
    *)
      echo "unknown type '$type' in variables.tsv"
      return 1
      ;;
  esac
}

# write_mutable_env ARRAY: mutable.env with the 36 variables in variables.tsv order, each value
# single-quoted so that sourcing the file can never run anything. Atomic, write-if-changed, 0600.
write_mutable_env() {
  local -n values=$1
  local name
  for name in "${MUTABLE_NAMES[@]}"; do
    printf '%s=%s\n' "$name" "$(quote_single "${values[$name]:-}")"
  done | write_if_changed "$MUTABLE_ENV" 0600
}

# One configure/update at a time (the boot-time unit and cloud-init may both run configure.sh).
take_lock() {
  mkdir -p "$PP_STATE"
  exec 9>>"$PP_STATE/vmconfig.lock"
  flock -w 300 9 || die "another vmconfig script has held $PP_STATE/vmconfig.lock for 5 minutes"
}
