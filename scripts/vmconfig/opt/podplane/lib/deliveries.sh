# shellcheck shell=bash
# Nstance deliveries, shared by nstance-recv-watch.sh (what may be delivered, where it goes) and
# restart.sh (which files each service reads, and their digests: install.sh records containerd's
# too): share/deliveries.tsv, the inputs column of share/services.tsv, the digests of a service's
# inputs, the PEM checks and the owner-aware write of a delivered file. Sourced after
# lib/common.sh, never run. Builtins only except where a comment says otherwise: restart.sh runs on
# every boot and a fork costs tens of milliseconds on an emulated VM.
# The tables below are used by the scripts that source this file:
# shellcheck disable=SC2034

readonly DELIVERIES_TSV="$VMCONFIG_HOME/share/deliveries.tsv"
readonly NSTANCE_KEYS_DIR="$PODPLANE_ROOT/opt/nstance-agent/keys"
readonly RECV_TRIGGER="$RECV_DIR/write-files.last"
# A delivered file is a PEM certificate or key, or mutable.env: a few KiB at most.
readonly MAX_DELIVERY_BYTES=65536

# The rows of deliveries.tsv for this image's kind (parallel arrays, one index per row).
declare -ga DLV_NAME=() DLV_FROM=() DLV_DEST=() DLV_MODE=() DLV_OWNER=() DLV_GROUP=() DLV_SERVICES=()
# DLV_KINDS[name]: the kinds of every name in the table (the allowlist, whatever the kind);
# DLV_ROWS[name]: the indexes of that name's rows for this kind ("0 7").
declare -gA DLV_KINDS=() DLV_ROWS=()

# load_deliveries KIND: reads deliveries.tsv; dies on a malformed row (naming the line).
load_deliveries() {
  local kind=$1 name kinds from dest mode owner group services extra n=0 i
  local re_name='^[A-Za-z0-9][A-Za-z0-9._-]*$' re_list='^[a-z0-9-]+(,[a-z0-9-]+)*$'
  [[ -f "$DELIVERIES_TSV" ]] || die "$DELIVERIES_TSV is missing"
  while IFS=$'\t' read -r name kinds from dest mode owner group services extra; do
    n=$((n + 1))
    [[ -z "$name" || "$name" == \#* ]] && continue
    local where="$DELIVERIES_TSV line $n ($name)"
    [[ -n "$services" && -z "$extra" ]] || die "$where: expected 8 TAB-separated columns"
    [[ "$name" =~ $re_name && "$name" != *..* ]] || die "$where: not a plain file name"
    [[ "$kinds" =~ ^(knd|knc)(,(knd|knc))*$ ]] || die "$where: kinds must be knd, knc or knd,knc"
    [[ "$from" == recv || "$from" == keys ]] || die "$where: from must be recv or keys"
    [[ "$services" == - || "$services" =~ $re_list ]] || die "$where: services must be '-' or a comma list"
    if [[ "$dest" == - ]]; then
      [[ "$name" == mutable.env ]] || die "$where: only mutable.env is merged instead of copied"
    else
      [[ "$dest" =~ ^/[A-Za-z0-9._/-]+$ && "$dest" != *..* && "$dest" != */ ]] || die "$where: dest must be an absolute file path"
      [[ "$mode" =~ ^0[0-7]{3}$ ]] || die "$where: mode must be octal like 0640"
      [[ "$owner" =~ $re_list && "$group" =~ $re_list && "$owner$group" != *,* ]] || die "$where: bad owner or group"
      case "$name" in *.crt | *.pub | *.key) ;; *) die "$where: expected a .crt, .pub or .key file" ;; esac
      [[ "$from" == recv || "$name" == *.key ]] || die "$where: only keys come from nstance-agent's keys directory"
    fi
    DLV_KINDS[$name]=$kinds
    [[ ",$kinds," == *",$kind,"* ]] || continue
    i=${#DLV_NAME[@]}
    DLV_NAME+=("$name")
    DLV_FROM+=("$from")
    DLV_DEST+=("$dest")
    DLV_MODE+=("$mode")
    DLV_OWNER+=("$owner")
    DLV_GROUP+=("$group")
    DLV_SERVICES+=("$services")
    DLV_ROWS[$name]+="${DLV_ROWS[$name]:+ }$i"
  done <"$DELIVERIES_TSV"
  # A generated key is taken only with its certificate: that certificate must be listed too.
  for i in "${!DLV_NAME[@]}"; do
    [[ "${DLV_FROM[i]}" == keys ]] || continue
    [[ -n "${DLV_ROWS[${DLV_NAME[i]%.key}.crt]:-}" ]] || die "$DELIVERIES_TSV: ${DLV_NAME[i]} comes from keys/ but ${DLV_NAME[i]%.key}.crt has no $kind row"
  done
}

# load_service_inputs KIND: SERVICE_INPUTS[svc] = the VM paths (one per line) whose content a
# running service depends on besides its env file: services.tsv's inputs column (column 6:
# service kinds when user variables inputs; comma list, '-' or empty for none) and the runtime
# copies of the delivered files whose deliveries.tsv row names the service. Needs
# load_deliveries first.
declare -gA SERVICE_INPUTS=()
load_service_inputs() {
  local kind=$1 svc kinds inputs path i n=0
  local -a paths services
  while IFS=$'\t' read -r svc kinds _ _ _ inputs _; do
    n=$((n + 1))
    [[ -z "$svc" || "$svc" == \#* ]] && continue
    [[ ",$kinds," == *",$kind,"* && -n "$inputs" && "$inputs" != - ]] || continue
    IFS=, read -r -a paths <<<"$inputs"
    for path in "${paths[@]}"; do
      [[ "$path" == /* && "$path" != *..* ]] || die "$SERVICES_TSV line $n ($svc): input '$path' is not an absolute path"
      SERVICE_INPUTS[$svc]+="$path"$'\n'
    done
  done <"$SERVICES_TSV"
  for i in "${!DLV_NAME[@]}"; do
    [[ "${DLV_DEST[i]}" != - && "${DLV_SERVICES[i]}" != - ]] || continue
    IFS=, read -r -a services <<<"${DLV_SERVICES[i]}"
    for svc in "${services[@]}"; do
      SERVICE_INPUTS[$svc]+="${DLV_DEST[i]}"$'\n'
    done
  done
}

# What a service runs with, as restart.sh records it after a (re)start and compares at every run
# (and install.sh records for containerd, which starts at boot from the files it writes).
declare -gA DIGEST=()

# compute_digests SERVICE...: DIGEST[svc] = one "<sha256> <path>" line per input of the service:
# its env file, then SERVICE_INPUTS[svc] (services.tsv's inputs column and the delivered files
# whose deliveries.tsv row names it), "absent <path>" for one that does not exist yet (so that its
# arrival restarts the service). One sha256sum call, each file hashed once however many services
# read it.
compute_digests() {
  local svc path i re='^\\?([0-9a-f]{64})  (.*)$'
  local -a files=() sums=() paths=()
  local -A sum_of=() listed=()
  for svc in "$@"; do
    mapfile -t paths <<<"${SERVICE_ENV_DIR#"$PODPLANE_ROOT"}/$svc.env"$'\n'"${SERVICE_INPUTS[$svc]:-}"
    for path in "${paths[@]}"; do
      [[ -n "$path" && -z "${listed[$path]:-}" ]] || continue
      listed[$path]=1
      sum_of[$path]=absent
      [[ ! -f "$PODPLANE_ROOT$path" ]] || files+=("$PODPLANE_ROOT$path")
    done
  done
  if ((${#files[@]} > 0)); then
    mapfile -t sums < <(sha256sum -- "${files[@]}")
    ((${#sums[@]} == ${#files[@]})) || die "sha256sum gave ${#sums[@]} digests for ${#files[@]} files (a file changed during the run?)"
    for i in "${!files[@]}"; do
      [[ "${sums[i]}" =~ $re ]] || die "unexpected sha256sum output: ${sums[i]}"
      sum_of[${files[i]#"$PODPLANE_ROOT"}]=${BASH_REMATCH[1]}
    done
  fi
  for svc in "$@"; do
    mapfile -t paths <<<"${SERVICE_ENV_DIR#"$PODPLANE_ROOT"}/$svc.env"$'\n'"${SERVICE_INPUTS[$svc]:-}"
    for path in "${paths[@]}"; do
      [[ -z "$path" ]] || DIGEST[$svc]+="${sum_of[$path]} $path"$'\n'
    done
  done
}

# stage_digest SERVICE: DIGEST[svc] staged as the service's record, $PP_STATE/<svc>.digest.
stage_digest() {
  stage_file "$PP_STATE/$1.digest" 0600 "${DIGEST[$1]}"
}

# log_error MESSAGE: stderr and, when logger exists, the journal (like die, without exiting).
log_error() {
  printf '%s: error: %s\n' "$LOG_TAG" "$*" >&2
  if command -v logger >/dev/null 2>&1; then
    logger -t "$LOG_TAG" -p user.err -- "$*" 2>/dev/null || true
  fi
}

# read_delivered FILE VAR: the text of FILE into VAR, or returns 1 with the reason in
# DELIVERY_REASON: not a regular file (a symbolic link, a directory, a device, ...), larger than
# MAX_DELIVERY_BYTES, a NUL byte, a carriage return. The bytes checked are the bytes applied:
# the file is read once here and never again.
DELIVERY_REASON=""
read_delivered() {
  local file=$1 LC_ALL=C
  local -n _delivered=$2
  _delivered=""
  DELIVERY_REASON=""
  if [[ -L "$file" ]]; then
    DELIVERY_REASON="a symbolic link"
  elif [[ ! -f "$file" ]]; then
    DELIVERY_REASON="not a regular file"
  else
    # read drops NUL bytes: the first read bounds the size, the second finds a NUL.
    IFS= read -r -N $((MAX_DELIVERY_BYTES + 1)) _delivered <"$file" || true
    if ((${#_delivered} > MAX_DELIVERY_BYTES)); then
      DELIVERY_REASON="larger than $MAX_DELIVERY_BYTES bytes"
    elif IFS= read -r -d '' _ <"$file"; then
      DELIVERY_REASON="contains a NUL byte"
    elif [[ "$_delivered" == *$'\r'* ]]; then
      DELIVERY_REASON="contains a carriage return"
    fi
  fi
  [[ -z "$DELIVERY_REASON" ]] || {
    _delivered=""
    return 1
  }
}

# check_pem NAME TEXT: TEXT must be only PEM blocks of the type NAME's suffix calls for (blank
# lines between blocks allowed, nothing else): .crt one or more CERTIFICATE blocks (a CA bundle),
# .pub one or more PUBLIC KEY / RSA PUBLIC KEY blocks, .key exactly one unencrypted PRIVATE KEY,
# EC PRIVATE KEY or RSA PRIVATE KEY block. A private key in a .crt or .pub (which land in
# directories every service can read) is refused like any other mismatch. Sets DELIVERY_REASON.
# A well-formed file is accepted by one whole-text match (pem_matches); only a file that does not
# match is walked line by line (pem_walk), which decides and names the offending line. The walk
# costs a bash regex per line: tens of ms per file under an emulated CPU, for every file of
# every delivery.
check_pem() {
  # (C ranges in the patterns, whatever the locale)
  local name=$1 text=$2 LC_ALL=C
  DELIVERY_REASON=""
  case "$name" in
    *.crt | *.pub | *.key) ;;
    *)
      DELIVERY_REASON="not a .crt, .pub or .key file"
      return 1
      ;;
  esac
  pem_matches "$name" "$text" || pem_walk "$name" "$text"
}

# The PEM labels each suffix may carry, '|'-separated.
declare -grA PEM_LABELS=([crt]="CERTIFICATE" [pub]="PUBLIC KEY|RSA PUBLIC KEY" [key]="PRIVATE KEY|EC PRIVATE KEY|RSA PRIVATE KEY")

# pem_matches NAME TEXT: succeeds when TEXT is, as a whole, what check_pem accepts for NAME (a
# .crt/.pub/.key name): blank lines, then blocks of NAME's labels, each BEGIN and END naming the
# same label, each with base64 lines of at most 76 characters, blank lines between them; one block
# for a .key. It only ever accepts what pem_walk accepts (test/bats/deliveries.bats checks both on
# the same texts); a failure says nothing, pem_walk then finds why.
pem_matches() {
  local text="${2%$'\n'}"$'\n' nl=$'\n' label block="" re
  local -a labels
  IFS='|' read -r -a labels <<<"${PEM_LABELS[${1##*.}]}"
  for label in "${labels[@]}"; do
    block+="${block:+|}-----BEGIN $label-----$nl([A-Za-z0-9+/]+={0,2}$nl)+-----END $label-----$nl"
  done
  if [[ "$1" == *.key ]]; then re="^$nl*($block)$nl*\$"; else re="^$nl*(($block)$nl*)+\$"; fi
  [[ "$text" =~ $re ]] || return 1
  # The base64 line length apart (at most 76 before the padding): a bounded repetition inside the
  # pattern above costs more than the line walk it replaces.
  re='[A-Za-z0-9+/]{77}'
  [[ ! "$text" =~ $re ]]
}

# pem_walk NAME TEXT: check_pem's decision line by line, naming the first offending line in
# DELIVERY_REASON.
pem_walk() {
  local name=$1 text=$2 line label="" re_labels want n=0 blocks=0 body=0
  local -a lines
  DELIVERY_REASON=""
  re_labels="^(${PEM_LABELS[${name##*.}]})\$"
  case "$name" in
    *.crt) want="PEM certificates" ;;
    *.pub) want="PEM public keys" ;;
    *.key) want="one PEM private key" ;;
  esac
  # (the here-string adds the newline that ends the text's last line)
  mapfile -t lines <<<"${text%$'\n'}"
  for line in "${lines[@]}"; do
    n=$((n + 1))
    if [[ -z "$label" ]]; then
      [[ -z "$line" ]] && continue
      if [[ "$line" =~ ^-----BEGIN\ ([A-Z0-9 ]+)-----$ ]]; then
        label=${BASH_REMATCH[1]}
        [[ "$label" =~ $re_labels ]] || DELIVERY_REASON="line $n: a $label block, expected $want"
        body=0
      else
        DELIVERY_REASON="line $n: text outside a PEM block, expected $want"
      fi
    elif [[ "$line" == "-----END $label-----" ]]; then
      ((body > 0)) || DELIVERY_REASON="line $n: an empty $label block"
      label=""
      blocks=$((blocks + 1))
    elif [[ "$line" =~ ^[A-Za-z0-9+/]{1,76}={0,2}$ ]]; then
      body=$((body + 1))
    else
      DELIVERY_REASON="line $n: not base64 inside the $label block (encrypted or malformed)"
    fi
    [[ -z "$DELIVERY_REASON" ]] || return 1
  done
  if [[ -n "$label" ]]; then
    DELIVERY_REASON="the $label block has no END line"
  elif ((blocks == 0)); then
    DELIVERY_REASON="no PEM block, expected $want"
  elif [[ "$name" == *.key ]] && ((blocks > 1)); then
    DELIVERY_REASON="$blocks PEM blocks, expected $want"
  fi
  [[ -z "$DELIVERY_REASON" ]]
}

# Writing delivered files: stage_delivery DEST MODE OWNER GROUP TEXT writes TEXT (when it differs
# from DEST) to DIR/.delivery/NAME with MODE from the first byte (a key is never readable by
# anyone else, even for a moment); commit_deliveries then gives the staged files their owner and
# group (one chown per owner:group, always run: tests put a recording chown first on PATH) and
# moves them into place with one `mv` per directory (each rename atomic). DELIVERED lists the
# VM paths that changed.
declare -gA DLV_STAGED_DIRS=() DLV_STAGED_OWNERS=()
declare -ga DELIVERED=()
stage_delivery() {
  local dest=$1 mode=$2 owner=$3 group=$4 text=$5 current mask
  local path="$PODPLANE_ROOT$dest"
  local dir=${path%/*} staged
  read_file "$path" current
  [[ ! -f "$path" || "$current" != "$text" ]] || return 0
  staged="$dir/.delivery/${path##*/}"
  [[ -d "$dir/.delivery" ]] || mkdir -m 0700 -- "$dir/.delivery"
  [[ ! -e "$staged" ]] || rm -f -- "$staged"
  printf -v mask '%03o' $((8#777 & ~8#$mode))
  umask "$mask"
  printf '%s' "$text" >"$staged"
  umask "$PP_UMASK"
  DLV_STAGED_DIRS[$dir]+="$staged"$'\n'
  DLV_STAGED_OWNERS["$owner:$group"]+="$staged"$'\n'
  DELIVERED+=("$dest")
}

# stage_delivery_dirs DEST...: the staging directories (DIR/.delivery, 0700) the DESTs need and
# lack, made by one mkdir (a first delivery needs ten: each exec costs tens of ms on an emulated
# CPU). stage_delivery would make a missing one itself.
stage_delivery_dirs() {
  local dest dir
  local -A lacking=()
  for dest in "$@"; do
    dir="$PODPLANE_ROOT${dest%/*}/.delivery"
    [[ -d "$dir" ]] || lacking[$dir]=1
  done
  ((${#lacking[@]} == 0)) || mkdir -m 0700 -- "${!lacking[@]}"
}

commit_deliveries() {
  local key dir
  local -a files
  for key in "${!DLV_STAGED_OWNERS[@]}"; do
    mapfile -t files <<<"${DLV_STAGED_OWNERS[$key]%$'\n'}"
    chown -- "$key" "${files[@]}"
  done
  for dir in "${!DLV_STAGED_DIRS[@]}"; do
    mapfile -t files <<<"${DLV_STAGED_DIRS[$dir]%$'\n'}"
    mv -f -t "$dir" -- "${files[@]}"
  done
  DLV_STAGED_DIRS=()
  DLV_STAGED_OWNERS=()
}

# pause SECONDS: sleeps without running an external program (read with a timeout on a pipe that
# never gets data: we hold its write end too).
pause() {
  local fd
  [[ "$1" != 0 ]] || return 0
  exec {fd}<> <(:)
  read -r -t "$1" -u "$fd" _ || true
  exec {fd}<&-
}
