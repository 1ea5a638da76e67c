#!/usr/bin/env bash
# Runs fluent-bit with a config written from /opt/env/fluent-bit.env (TELEMETRY_*). Outputs only when TELEMETRY_ENABLED=true.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../lib/wrapper.sh
source "${BASH_SOURCE[0]%/*}/../lib/wrapper.sh"

# yaml_field FORMAT VALUE: printf FORMAT with VALUE as a quoted string (no subshell).
yaml_field() {
  local q
  json_string -v q "$2"
  # shellcheck disable=SC2059 # FORMAT is one of this file's literals
  printf "$1" "$q"
}

write_config() {
  local file=$1 unit q1 q2
  {
    printf 'service:\n  flush: 5\n  log_level: info\n'
    printf 'pipeline:\n  inputs:\n'
    local IFS=,
    for unit in ${TELEMETRY_LOG_SERVICES:-}; do
      printf '    - name: systemd\n      tag: service.%s\n      systemd_filter: _SYSTEMD_UNIT=%s.service\n' "$unit" "$unit"
    done
    if [[ "${TELEMETRY_LOG_CLOUDINIT:-false}" == true ]]; then
      printf '    - name: tail\n      tag: cloud-init\n      path: /var/log/cloud-init-output.log\n'
    fi
    printf '  filters:\n    - name: record_modifier\n      match: "*"\n'
    json_string -v q1 "cluster_id ${CLUSTER_ID:-}"
    json_string -v q2 "instance_id ${INSTANCE_ID:-}"
    printf '      record:\n        - %s\n        - %s\n' "$q1" "$q2"
    printf '  outputs:\n'
    if [[ "${TELEMETRY_ENABLED:-false}" != true ]]; then
      printf '    - name: "null"\n      match: "*"\n'
    fi
    if [[ "${TELEMETRY_ENABLED:-false}" == true && -n "${TELEMETRY_S3_BUCKET:-}" ]]; then
      yaml_field '    - name: s3\n      match: "*"\n      bucket: %s\n' "${TELEMETRY_S3_BUCKET}"
      [[ -z "${TELEMETRY_S3_REGION:-}" ]] || yaml_field '      region: %s\n' "${TELEMETRY_S3_REGION}"
      [[ -z "${TELEMETRY_S3_ENDPOINT:-}" ]] || yaml_field '      endpoint: %s\n' "${TELEMETRY_S3_ENDPOINT}"
      [[ -z "${TELEMETRY_S3_ASSUME_ROLE:-}" ]] || yaml_field '      role_arn: %s\n' "${TELEMETRY_S3_ASSUME_ROLE}"
      [[ "${AWS_S3_USE_PATH_STYLE:-false}" != true ]] || printf '      use_put_object: true\n'
    fi
    if [[ "${TELEMETRY_ENABLED:-false}" == true && -n "${TELEMETRY_OTLP_ENDPOINT:-}" ]]; then
      yaml_field '    - name: opentelemetry\n      match: "*"\n      host: %s\n' "${TELEMETRY_OTLP_ENDPOINT}"
    fi
  } >"$file"
}

main() {
  local config
  runtime_dir fluent-bit
  config="$RUN_DIR/fluent-bit.yaml"
  write_config "$config"
  export_as AWS_ACCESS_KEY_ID TELEMETRY_S3_ACCESS_KEY_ID
  export_as AWS_SECRET_ACCESS_KEY TELEMETRY_S3_SECRET_ACCESS_KEY
  run_binary /opt/fluent-bit/bin/fluent-bit --config="$config"
}

main "$@"
