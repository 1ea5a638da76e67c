#!/usr/bin/env bash
# Shared by every vmconfig script: logging, the paths (all under PODPLANE_ROOT), the data
# files (variables.tsv, services.tsv), write-if-changed, env-file quoting/parsing and the
# value checks. Sourced, never run.
# The constants and tables below are used by the scripts that source this file:
# shellcheck disable=SC2034

PODPLANE_ROOT="${PODPLANE_ROOT:-}"
# The vmconfig tree this file belongs to (/opt/podplane on a VM, the stage or repo copy
# otherwise), made absolute in this shell (cd and back: no subshell).
vmconfig_home() {
  local CDPATH="" here=$PWD
  cd -P -- "${BASH_SOURCE[0]%/*}/.." || return 1
  VMCONFIG_HOME=$PWD
  cd -- "$here" || return 1
}
vmconfig_home
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
readonly BOOTSTRAP_DONE="$PP_HOME/bootstrap.done"
readonly IDENTITY_DIR="$PODPLANE_ROOT/opt/nstance-agent/identity"
readonly CONFIG_DIR="$PP_ETC/config"
readonly SERVICE_ENV_DIR="$PODPLANE_ROOT/opt/env"
readonly RECV_DIR="$PODPLANE_ROOT/opt/nstance-agent/recv"
readonly MAX_VALUE_BYTES=4096
# Every file vmconfig creates gets its mode from this umask or an explicit one (stage_file).
readonly PP_UMASK=022
umask "$PP_UMASK"

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
# For bake-time and delivery copies (any bytes); the boot path uses stage_file/commit_staged.
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

# read_file FILE VAR: the whole text of FILE (no NUL bytes) into VAR, trailing newlines kept;
# VAR is empty when FILE does not exist. A builtin read: no subshell, no cat.
read_file() {
  local -n _read_into=$2
  _read_into=""
  [[ -f "$1" ]] || return 0
  IFS= read -r -d '' _read_into <"$1" || true
}

# host_names: HOST_SHORT (hostname -s) and HOST_FQDN: the kernel's name when it has a dot,
# else the short name in resolv.conf's search/domain, else <short>.localdomain (what
# Podplane's derivation gives, without the DNS lookup of `hostname -f`).
HOST_SHORT=""
HOST_FQDN=""
host_names() {
  local full="" file="$PODPLANE_ROOT/proc/sys/kernel/hostname" key domain _
  # Once per process: bootstrap.sh's detection and its /etc/hosts refresh share the answer.
  [[ -z "$HOST_SHORT" ]] || return 0
  if [[ -r "$file" ]]; then
    IFS= read -r full <"$file" || true
  else
    full=$(hostname)
  fi
  [[ -n "$full" ]] || die "cannot detect the hostname"
  HOST_SHORT=${full%%.*}
  if [[ "$full" == *.* ]]; then
    HOST_FQDN=$full
    return 0
  fi
  HOST_FQDN="$HOST_SHORT.localdomain"
  [[ -r "$PODPLANE_ROOT/etc/resolv.conf" ]] || return 0
  while read -r key domain _; do
    if [[ ("$key" == search || "$key" == domain) && -n "$domain" && "$domain" != . ]]; then
      HOST_FQDN="$HOST_SHORT.${domain%.}"
      return 0
    fi
  done <"$PODPLANE_ROOT/etc/resolv.conf"
}

# Write-if-changed without forks for text: stage_file DEST MODE TEXT [OWNER:GROUP] compares
# TEXT with DEST (builtin read) and, when it differs, keeps TEXT, MODE and OWNER:GROUP for
# commit_staged, which writes them all at once: one `mkdir -p` for every staging directory
# (DIR/.staged, 0700) that is missing, with any missing DIR (0755 from the umask: a room's config
# directory on first boot), each file into DIR/.staged/NAME with its MODE from the first byte
# (builtin writes), one `chown` per OWNER:GROUP (none for root:root when run as root: the files
# are root's already; none at all under PODPLANE_ROOT, i.e. in tests), then one `mv` per
# directory over the destinations (each rename atomic: same file system). So a first boot costs
# one mkdir, a few chowns and one mv per directory, whatever the number of files. Sets
# WRITE_CHANGED; STAGED_COUNT counts files waiting for commit_staged.
declare -gA STAGED=() STAGED_TEXT=() STAGED_MODE=() STAGED_OWNER=()
STAGED_COUNT=0
stage_file() {
  local dest=$1 mode=$2 text=$3 owner=${4:-} dir=${1%/*} current
  read_file "$dest" current
  if [[ -f "$dest" && "$current" == "$text" ]]; then
    WRITE_CHANGED=0
    return 0
  fi
  [[ -n "${STAGED_TEXT[$dest]+set}" ]] || {
    STAGED[$dir]+="/${dest##*/}"
    STAGED_COUNT=$((STAGED_COUNT + 1))
  }
  STAGED_TEXT[$dest]=$text
  STAGED_MODE[$dest]=$mode
  STAGED_OWNER[$dest]=$owner
  WRITE_CHANGED=1
}

# commit_staged: writes the staged files and moves them over their destinations (see stage_file).
commit_staged() {
  local dir name dest staged mask owner
  local -a files names staging_dirs=() leftovers=()
  local -A by_owner=()
  for dir in "${!STAGED[@]}"; do
    [[ -d "$dir/.staged" ]] || staging_dirs+=("$dir/.staged")
  done
  # -m is for the staging directories; the missing parents get 0755 from the umask, on purpose.
  # shellcheck disable=SC2174
  ((${#staging_dirs[@]} == 0)) || mkdir -p -m 0700 -- "${staging_dirs[@]}"
  for dest in "${!STAGED_TEXT[@]}"; do
    staged="${dest%/*}/.staged/${dest##*/}"
    # A leftover of an interrupted run would keep its old mode and owner through the redirection.
    [[ ! -e "$staged" ]] || leftovers+=("$staged")
  done
  ((${#leftovers[@]} == 0)) || rm -f -- "${leftovers[@]}"
  for dest in "${!STAGED_TEXT[@]}"; do
    staged="${dest%/*}/.staged/${dest##*/}"
    printf -v mask '%03o' $((8#777 & ~8#${STAGED_MODE[$dest]}))
    umask "$mask"
    printf '%s' "${STAGED_TEXT[$dest]}" >"$staged"
    umask "$PP_UMASK"
    owner=${STAGED_OWNER[$dest]}
    [[ -z "$owner" || -n "$PODPLANE_ROOT" || ("$owner" == root:root && "$EUID" -eq 0) ]] || by_owner[$owner]+="$staged"$'\n'
  done
  for owner in "${!by_owner[@]}"; do
    mapfile -t files <<<"${by_owner[$owner]%$'\n'}"
    chown -- "$owner" "${files[@]}"
  done
  for dir in "${!STAGED[@]}"; do
    files=()
    IFS=/ read -r -a names <<<"${STAGED[$dir]#/}"
    for name in "${names[@]}"; do
      files+=("$dir/.staged/$name")
    done
    mv -f -t "$dir" -- "${files[@]}"
  done
  STAGED=()
  STAGED_TEXT=()
  STAGED_MODE=()
  STAGED_OWNER=()
  STAGED_COUNT=0
}

# json_string [-v VAR] VALUE: a JSON (and YAML/TOML basic) string literal, printed or (-v)
# stored in VAR without a subshell; values are already free of control characters.
json_string() {
  if [[ "$1" == -v ]]; then
    local _js=${3//\\/\\\\}
    printf -v "$2" '"%s"' "${_js//\"/\\\"}"
    return
  fi
  local v=${1//\\/\\\\}
  printf '"%s"' "${v//\"/\\\"}"
}

# quote_single VAR VALUE: VAR='value' quoted for bash (mutable.env, detected.env): 'it'\''s'.
quote_single() {
  local _qs="'\\''"
  printf -v "$1" "'%s'" "${2//\'/$_qs}"
}

# quote_double VAR VALUE: "value" with \ " $ ` escaped: read the same by bash and by systemd's
# EnvironmentFile=.
quote_double() {
  local _qd=${2//\\/\\\\}
  _qd=${_qd//\"/\\\"}
  _qd=${_qd//\$/\\\$}
  _qd=${_qd//\`/\\\`}
  printf -v "$1" '"%s"' "$_qd"
}

# stage_service_env SERVICE: /opt/env/<service>.env staged from ENV (the merged variables): one
# NAME="value" line per variable of its services.tsv row, 0600 root:root for a root service, else
# 0640 root:<its user>. Makes /opt/env (0750) when it is missing (tmpfiles.d makes it on a VM).
# Sets WRITE_CHANGED. configure.sh writes every env file with it, install.sh containerd's (which
# has no variable).
stage_service_env() {
  local svc=$1 name quoted text="" user=${SERVICE_USER[$1]}
  local -a names
  [[ -d "$SERVICE_ENV_DIR" ]] || install -d -m 0750 "$SERVICE_ENV_DIR"
  IFS=, read -r -a names <<<"${SERVICE_VARS[$svc]}"
  for name in "${names[@]}"; do
    quote_double quoted "${ENV[$name]:-}"
    text+="$name=$quoted"$'\n'
  done
  if [[ "$user" == root ]]; then
    stage_file "$SERVICE_ENV_DIR/$svc.env" 0600 "$text" root:root
  else
    stage_file "$SERVICE_ENV_DIR/$svc.env" 0640 "$text" "root:$user"
  fi
}

# unquote VALUE: the inverse of both quote functions and of bare words, without eval.
# Sets UNQUOTED; returns 1 on anything else: UNQUOTE_OPEN=1 when a quote is left open (the
# value goes on on the next line), 0 for anything else (a bare special character).
UNQUOTED=""
UNQUOTE_OPEN=0
unquote() {
  local rest=$1 out="" inner
  UNQUOTE_OPEN=0
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
      [[ "$rest" != [\'\"]* ]] || UNQUOTE_OPEN=1
      return 1
    fi
  done
  UNQUOTED=$out
}

# Values that may span lines (Podplane writes them so): a list of SSH keys and a PEM CA.
readonly MULTILINE_NAMES=" IMMUTABLE_SSH_AUTHORIZED_KEYS NSTANCE_CA_CERT "

# read_env_file FILE ARRAY: parses an env file into the associative array named ARRAY without
# ever executing it. The format is Podplane's: NAME='value' lines ('\'' for a quote inside),
# blank lines and # comments between them; vmconfig's own double quoting and bare words read
# too (unquote). A single-quoted value may span lines only for MULTILINE_NAMES; anything else
# (a newline in another value, an unclosed quote, a bare $( ), a name given twice) dies naming
# FILE, the line and the variable (through $ENV_PARSE_FAIL, die unless a script sets another).
ENV_PARSE_FAIL=die
read_env_file() {
  local file=$1 line n=0 start name value die=$ENV_PARSE_FAIL
  local -n into=$2
  local re='^([A-Z][A-Z0-9_]*)=(.*)$'
  [[ -r "$file" ]] || "$die" "cannot read $file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ $re ]] || "$die" "$file line $n: expected NAME='value' (a name of capital letters, digits and _)"
    name=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    start=$n
    [[ -z "${into[$name]+set}" ]] || "$die" "$file line $n: $name is set twice"
    until unquote "$value"; do
      ((UNQUOTE_OPEN)) || "$die" "$file line $n: $name: the value is not quoted as Podplane writes env files (NAME='value', '\\'' for a quote)"
      [[ "$MULTILINE_NAMES" == *" $name "* ]] ||
        "$die" "$file line $start: $name: the value continues on the next line (a newline inside a value; only${MULTILINE_NAMES% } may span lines)"
      IFS= read -r line || [[ -n "$line" ]] || "$die" "$file line $start: $name: the quote opened here is never closed"
      n=$((n + 1))
      value+=$'\n'$line
      # A line without a quote cannot close the value: read on without parsing again.
      while [[ "$line" != *[\'\"]* ]]; do
        IFS= read -r line || [[ -n "$line" ]] || "$die" "$file line $start: $name: the quote opened here is never closed"
        n=$((n + 1))
        value+=$'\n'$line
      done
    done
    into["$name"]=$UNQUOTED
  done <"$file"
}

# MUTABLE_TYPE[name]=type and MUTABLE_DEFAULT[name]=default for the 45 mutable variables,
# ALL_TYPE / ALL_SOURCE / ALL_REQUIRED / ALL_DEFAULT for every known variable, MUTABLE_NAMES
# in file order (the Podplane CLI's 39, then the seed's 6).
declare -gA MUTABLE_TYPE=() MUTABLE_DEFAULT=() ALL_TYPE=() ALL_SOURCE=() ALL_REQUIRED=() ALL_DEFAULT=()
declare -ga MUTABLE_NAMES=()
load_variables() {
  local name src type req def
  while IFS=$'\t' read -r name src type req def _; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ "$def" == - ]] && def=""
    ALL_TYPE[$name]=$type
    ALL_SOURCE[$name]=$src
    ALL_REQUIRED[$name]=$req
    ALL_DEFAULT[$name]=$def
    if [[ "$src" == mutable ]]; then
      MUTABLE_NAMES+=("$name")
      MUTABLE_TYPE[$name]=$type
      MUTABLE_DEFAULT[$name]=$def
    fi
  done <"$VARIABLES_TSV"
}

# load_services KIND: SERVICES (the kind's services in services.tsv order), SERVICE_WHEN[svc]
# ("always" or NAME=value), SERVICE_USER[svc] (the unit's User=) and SERVICE_VARS[svc]
# (comma-separated, empty for "-"), read once. The inputs column is lib/deliveries.sh's
# (load_service_inputs), which adds the delivered files to it.
declare -ga SERVICES=()
declare -gA SERVICE_WHEN=() SERVICE_USER=() SERVICE_VARS=()
load_services() {
  local kind=$1 svc kinds when user vars
  while IFS=$'\t' read -r svc kinds when user vars _; do
    [[ -z "$svc" || "$svc" == \#* ]] && continue
    [[ ",$kinds," == *",$kind,"* ]] || continue
    [[ -n "$user" && -n "$when" ]] || die "$SERVICES_TSV: $svc: expected the columns service kinds when user variables inputs"
    [[ "$vars" != - ]] || vars=""
    SERVICES+=("$svc")
    SERVICE_WHEN[$svc]=$when
    SERVICE_USER[$svc]=$user
    SERVICE_VARS[$svc]=$vars
  done <"$SERVICES_TSV"
}

# load_image_kind: IMAGE_KIND, the kind this image was baked for (written by install.sh).
IMAGE_KIND=""
load_image_kind() {
  [[ -f "$PP_KIND_FILE" ]] || die "$PP_KIND_FILE is missing: this image was not installed by install.sh"
  IFS= read -r IMAGE_KIND <"$PP_KIND_FILE" || true
  [[ "$IMAGE_KIND" == knd || "$IMAGE_KIND" == knc ]] || die "$PP_KIND_FILE: unknown kind '$IMAGE_KIND'"
}

readonly RE_HOST='[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?'
readonly RE_PORT='[0-9]{1,5}'
readonly RE_IPV4='((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
readonly RE_IPV6='[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}'
# Multi-line values (a PEM, several SSH keys, a base64 PEM) may be longer than the others.
readonly MAX_BLOCK_BYTES=16384
readonly RE_BASE64_LINES=$'^[A-Za-z0-9+/=\n]+$'

# check_value TYPE VALUE: returns 1 with the reason in CHECK_REASON when VALUE is not a valid
# TYPE. The empty value is valid for every type (it means "the default"; required variables are
# checked after merging). Every value: at most MAX_VALUE_BYTES (MAX_BLOCK_BYTES for pem, sshkeys
# and base64), no control character (pem and sshkeys: no control character but newline), no $ or
# backtick (nothing that a later consumer could take for an expansion).
CHECK_REASON=""
check_value() {
  local type=$1 value=$2 item max=$MAX_VALUE_BYTES lines=""
  local -a items
  CHECK_REASON=""
  [[ -n "$value" ]] || return 0
  case "$type" in
    pem | sshkeys) max=$MAX_BLOCK_BYTES lines=${value//$'\n'/} ;;
    base64) max=$MAX_BLOCK_BYTES lines=$value ;;
    *) lines=$value ;;
  esac
  if ((${#value} > max)); then
    CHECK_REASON="longer than $max bytes"
  elif [[ "$lines" == *[[:cntrl:]]* ]]; then
    CHECK_REASON="contains a control character (newline, carriage return, tab, ...)"
  elif [[ "$value" == *[\$\`]* ]]; then
    CHECK_REASON='contains $ or a backtick'
  else
    case "$type" in
      bool) [[ "$value" == true || "$value" == false ]] || CHECK_REASON="expected true or false" ;;
      port)
        if ! [[ "$value" =~ ^$RE_PORT$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
          CHECK_REASON="expected a port number 1-65535"
        fi
        ;;
      uint) [[ "$value" =~ ^[0-9]{1,9}$ ]] || CHECK_REASON="expected a non-negative integer" ;;
      mask4 | mask6)
        local top=32
        [[ "$type" == mask4 ]] || top=128
        if ! [[ "$value" =~ ^[0-9]{1,3}$ ]] || ((10#$value > top)); then
          CHECK_REASON="expected a prefix length 0-$top"
        fi
        ;;
      kind) [[ "$value" == knd || "$value" == knc ]] || CHECK_REASON="expected knd or knc" ;;
      provider) [[ "$value" =~ ^(local|aws|google|proxmox)$ ]] || CHECK_REASON="expected local, aws, google or proxmox" ;;
      endpoint | endpoints)
        IFS=, read -r -a items <<<"$value"
        [[ "$type" == endpoints || "$value" != *,* ]] || CHECK_REASON="expected one URL or host:port"
        for item in "${items[@]}"; do
          [[ -z "$CHECK_REASON" ]] || break
          [[ "$item" =~ ^[a-z][a-z0-9+.-]*://[^[:space:]/]+(/[^[:space:]]*)?$ || "$item" =~ ^($RE_HOST|\[[0-9A-Fa-f:.]+\]):$RE_PORT$ ]] ||
            CHECK_REASON="expected a URL or host:port, found '$item'"
        done
        ;;
      hostport) [[ "$value" =~ ^($RE_HOST|\[[0-9A-Fa-f:.]+\]):$RE_PORT$ ]] || CHECK_REASON="expected host:port" ;;
      url) [[ "$value" =~ ^https?://[^[:space:]/]+(/[^[:space:]]*)?$ ]] || CHECK_REASON="expected an http(s) URL" ;;
      hostname) [[ "$value" =~ ^$RE_HOST(:$RE_PORT)?$ ]] || CHECK_REASON="expected a host name" ;;
      ipv4) [[ "$value" =~ ^$RE_IPV4$ ]] || CHECK_REASON="expected an IPv4 address" ;;
      ip) [[ "$value" =~ ^($RE_IPV4|$RE_IPV6)$ ]] || CHECK_REASON="expected an IP address" ;;
      ips | cidrs)
        local suffix=""
        [[ "$type" == ips ]] || suffix='/[0-9]{1,3}'
        IFS=, read -r -a items <<<"$value"
        [[ "$value" != *, && "$value" != ,* ]] || CHECK_REASON="expected a comma-separated list without empty items"
        for item in "${items[@]}"; do
          [[ -z "$CHECK_REASON" ]] || break
          [[ "$item" =~ ^($RE_IPV4|$RE_IPV6)$suffix$ ]] || CHECK_REASON="expected a comma-separated list of IP addresses${suffix:+ with a /prefix}, found '$item'"
        done
        ;;
      path) [[ "$value" =~ ^/[A-Za-z0-9._/-]*$ && "$value" != *..* ]] || CHECK_REASON="expected an absolute path" ;;
      list) [[ "$value" =~ ^[A-Za-z0-9_.@-]+(,[A-Za-z0-9_.@-]+)*$ ]] || CHECK_REASON="expected a comma-separated list of names" ;;
      services) [[ "$value" =~ ^[a-z0-9][a-z0-9-]*(,[a-z0-9][a-z0-9-]*)*$ ]] || CHECK_REASON="expected a comma-separated list of lowercase service names" ;;
      word) [[ "$value" =~ ^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]*$ ]] || CHECK_REASON="expected a single word (letters, digits, _ . : / @ + = -)" ;;
      base64) [[ "$value" =~ ^[A-Za-z0-9+/]+=*$ ]] || CHECK_REASON="expected base64 (a base64-encoded PEM)" ;;
      pem) [[ "$value" == "-----BEGIN "* || "$value" =~ $RE_BASE64_LINES ]] || CHECK_REASON="expected a PEM certificate or its base64 encoding" ;;
      sshkeys | text) ;;
      *) CHECK_REASON="unknown type '$type' in variables.tsv" ;;
    esac
  fi
  [[ -z "$CHECK_REASON" ]]
}

# check_env FILE ARRAY: dies naming FILE and the variable at the first value in ARRAY that is
# not valid for its type (or not a known variable at all).
check_env() {
  local file=$1 name
  local -n _check=$2
  for name in "${!_check[@]}"; do
    [[ -n "${ALL_TYPE[$name]+set}" ]] || die "$file: unknown variable $name"
    check_value "${ALL_TYPE[$name]}" "${_check[$name]}" || die "$file: $name: $CHECK_REASON"
  done
}

# mutable_env_text ARRAY VAR: the text of mutable.env (the 45 variables in variables.tsv order,
# each value single-quoted so that sourcing the file can never run anything) into VAR.
mutable_env_text() {
  local -n _values=$1 _text=$2
  local name quoted
  _text=""
  for name in "${MUTABLE_NAMES[@]}"; do
    quote_single quoted "${_values[$name]:-}"
    _text+="$name=$quoted"$'\n'
  done
}

# write_mutable_env ARRAY: mutable.env from ARRAY, atomic, write-if-changed, 0600.
write_mutable_env() {
  local text
  mutable_env_text "$1" text
  stage_file "$MUTABLE_ENV" 0600 "$text"
  commit_staged
}

# One configure/update at a time (the boot-time unit and cloud-init may both run configure.sh).
# A script started by one that holds the lock (nstance-recv-watch.sh runs update-mutable-env.sh
# and configure.sh under it) inherits it on fd 9: it neither opens the file again nor runs flock
# (which would wait for its own parent).
take_lock() {
  [[ -d "$PP_STATE" ]] || mkdir -p "$PP_STATE"
  [[ ! /proc/self/fd/9 -ef "$PP_STATE/vmconfig.lock" ]] || return 0
  exec 9>>"$PP_STATE/vmconfig.lock"
  flock -w 300 9 || die "another vmconfig script has held $PP_STATE/vmconfig.lock for 5 minutes"
}

# check_provider ARRAY FILE: the rules Podplane's bootstrap and configure apply to the
# provider: PROVIDER_KIND is one of Podplane's four; aws needs AWS_ACCOUNT_ID and CLUSTER_ID,
# google needs GOOGLE_PROJECT_ID. Dies naming FILE and the variable.
check_provider() {
  local -n _p=$1
  local file=$2
  case "${_p[PROVIDER_KIND]:-}" in
    local | aws | google | proxmox) ;;
    "") die "$file: PROVIDER_KIND is required (local, aws, google or proxmox)" ;;
    *) die "$file: PROVIDER_KIND: expected local, aws, google or proxmox, found '${_p[PROVIDER_KIND]}'" ;;
  esac
  if [[ "${_p[PROVIDER_KIND]}" == aws ]]; then
    [[ -n "${_p[AWS_ACCOUNT_ID]:-}" ]] || die "$file: AWS_ACCOUNT_ID is required when PROVIDER_KIND is aws"
    [[ -n "${_p[CLUSTER_ID]:-}" ]] || die "$file: CLUSTER_ID is required when PROVIDER_KIND is aws"
  elif [[ "${_p[PROVIDER_KIND]}" == google ]]; then
    [[ -n "${_p[GOOGLE_PROJECT_ID]:-}" ]] || die "$file: GOOGLE_PROJECT_ID is required when PROVIDER_KIND is google"
  fi
}

# read_user_data ARRAY: user-data.env parsed and checked (names, types, provider rules) into
# ARRAY. It may carry user-data, mutable and (to override detection) detected variables.
read_user_data() {
  local name
  local -n _ud=$1
  [[ -f "$USER_DATA_ENV" ]] || die "$USER_DATA_ENV is missing: the cloud-init user-data has not run, nothing to configure"
  read_env_file "$USER_DATA_ENV" _ud
  check_env "$USER_DATA_ENV" _ud
  for name in "${!_ud[@]}"; do
    [[ "${ALL_SOURCE[$name]}" != internal ]] || die "$USER_DATA_ENV: $name cannot be set (configure.sh computes it)"
  done
  check_provider _ud "$USER_DATA_ENV"
}
