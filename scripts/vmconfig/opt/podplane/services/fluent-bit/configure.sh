#!/usr/bin/env bash
# configure_fluent_bit: /opt/fluent-bit/etc/fluent-bit.yaml. Inputs: the journal of the units
# in TELEMETRY_LOG_SERVICES and cloud-init's log (TELEMETRY_LOG_CLOUDINIT), buffered on the
# filesystem; outputs: S3 (TELEMETRY_S3_*) and OTLP/HTTP (TELEMETRY_OTLP_ENDPOINT split into
# host, port, path and TLS). Called by configure.sh with ENV while TELEMETRY_ENABLED=true.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

# fluent_bit_otlp ENDPOINT: OTLP_HOST OTLP_PORT OTLP_URI OTLP_TLS from http(s)://host[:port][/path].
fluent_bit_otlp() {
  local rest=$1 hostport
  OTLP_TLS=false
  case "$rest" in
    https://*) OTLP_TLS=true rest=${rest#https://} ;;
    http://*) rest=${rest#http://} ;;
  esac
  hostport=${rest%%/*}
  OTLP_URI=/v1/logs
  [[ "$rest" != */?* ]] || OTLP_URI=/${rest#*/}
  if [[ "$hostport" == \[*\]:* || ("$hostport" != \[* && "$hostport" == *:*) ]]; then
    OTLP_HOST=${hostport%:*} OTLP_PORT=${hostport##*:}
  else
    OTLP_HOST=$hostport OTLP_PORT=80
    [[ "$OTLP_TLS" != true ]] || OTLP_PORT=443
  fi
  OTLP_HOST=${OTLP_HOST#[}
  OTLP_HOST=${OTLP_HOST%]}
}

configure_fluent_bit() {
  local text unit q units="" kind=${ENV[PROVIDER_KIND]:-}
  local bucket=${ENV[TELEMETRY_S3_BUCKET]:-} otlp=${ENV[TELEMETRY_OTLP_ENDPOINT]:-}
  local region=${ENV[TELEMETRY_S3_REGION]:-${ENV[PROVIDER_REGION]:-}} endpoint=${ENV[TELEMETRY_S3_ENDPOINT]:-}
  local role=${ENV[TELEMETRY_S3_ASSUME_ROLE]:-} OTLP_HOST OTLP_PORT OTLP_URI OTLP_TLS
  local -a list
  IFS=, read -r -a list <<<"${ENV[TELEMETRY_LOG_SERVICES]:-}"
  for unit in "${list[@]}"; do
    [[ -z "$unit" ]] || units+="
        - _SYSTEMD_UNIT=$unit.service"
  done
  text="service:
  flush: 1
  daemon: false
  log_level: info
  http_server: false
  storage.path: /var/lib/fluent-bit/buffer
  storage.sync: normal
  storage.metrics: false

pipeline:
  inputs:"
  [[ -z "$units" ]] || text+="
    - name: systemd
      tag: systemd.*
      db: /var/lib/fluent-bit/journal.db
      read_from_tail: true
      storage.type: filesystem
      systemd_filter:$units"
  [[ "${ENV[TELEMETRY_LOG_CLOUDINIT]:-true}" != true ]] || text+="
    - name: tail
      tag: cloudinit.*
      path: /var/log/cloud-init.log
      db: /var/lib/fluent-bit/cloud-init.db
      read_from_head: true
      refresh_interval: 30
      storage.type: filesystem"
  [[ -n "$units" || "${ENV[TELEMETRY_LOG_CLOUDINIT]:-true}" == true ]] || text+=" []"
  text+="
  filters:
    - name: modify
      match: systemd.*
      rename:
        - _HOSTNAME host.name
        - MESSAGE body
        - SYSLOG_IDENTIFIER log.source
      add:
        - log.format otlp
    - name: modify
      match: cloudinit.*
      rename:
        - log body
      add:
        - log.source cloud-init
        - log.format otlp
  outputs:"
  if [[ -z "$bucket" && -z "$otlp" ]]; then
    # Telemetry on but nowhere to send it: a valid pipeline that drops the records.
    text+="
    - name: \"null\"
      match: \"*\""
  fi
  if [[ -n "$bucket" ]]; then
    if [[ "$kind" == aws ]]; then
      [[ -n "$endpoint" ]] || endpoint="s3.$region.amazonaws.com"
      [[ -n "$role" ]] || role="arn:aws:iam::${ENV[AWS_ACCOUNT_ID]:-}:role/podplane-${ENV[CLUSTER_ID]:-}-telemetry-upload"
    fi
    room_quote q "$bucket"
    text+="
    - name: s3
      match: \"*\"
      bucket: $q"
    room_quote q "$region"
    text+="
      region: $q"
    if [[ -n "$endpoint" ]]; then
      room_quote q "$endpoint"
      text+="
      endpoint: $q"
    fi
    if [[ -n "$role" ]]; then
      room_quote q "$role"
      text+="
      role_arn: $q"
    fi
    text+="
      use_put_object: true
      upload_timeout: 1m
      total_file_size: 100M
      store_dir: /var/lib/fluent-bit/s3
      compression: gzip
      s3_key_format: /logs/%Y-%m-%d/%H/%H-%M-%S_\$INDEX_\$UUID.json.gz
      json_date_key: date
      json_date_format: iso8601"
  fi
  if [[ -n "$otlp" ]]; then
    fluent_bit_otlp "$otlp"
    room_quote q "$OTLP_HOST"
    text+="
    - name: opentelemetry
      match: \"*\"
      host: $q
      port: $OTLP_PORT"
    room_quote q "$OTLP_URI"
    text+="
      logs_uri: $q
      tls: $OTLP_TLS"
  fi
  stage_file "$ROOM_ROOT/opt/fluent-bit/etc/fluent-bit.yaml" 0640 "$text"$'\n' root:fluent-bit
}
