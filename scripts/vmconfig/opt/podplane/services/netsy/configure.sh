#!/usr/bin/env bash
# configure_netsy: /opt/netsy/etc/cluster.jsonc, the cluster-wide netsy config (plain JSON):
# the cluster ID and the bucket (s3, gcs on google). Called by configure.sh with ENV; stage_file only.

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

configure_netsy() {
  local id bucket provider=s3
  [[ "${ENV[PROVIDER_KIND]:-}" != google ]] || provider=gcs
  room_quote id "${ENV[CLUSTER_ID]:-}"
  room_quote bucket "${ENV[NETSY_BUCKET]:-}"
  stage_file "$ROOM_ROOT/opt/netsy/etc/cluster.jsonc" 0640 "{
  \"cluster_id\": $id,
  \"storage\": {
    \"provider\": \"$provider\",
    \"bucket_name\": $bucket,
    \"key_prefix\": \"\",
    \"class\": \"STANDARD\",
    \"encryption\": \"provider-managed\"
  },
  \"heartbeat_interval\": \"1s\",
  \"elector\": {\"degradation_count\": 2, \"deregistration_timeout\": \"3m\", \"primary_prior_timeout\": \"5s\"},
  \"replication\": {\"quorum\": -1, \"degradation_count\": 2, \"chunk_buffer\": {\"threshold_size_mb\": 4, \"threshold_age_minutes\": 1}},
  \"snapshot\": {\"threshold_records\": 10000, \"threshold_size_mb\": 10000, \"threshold_age_minutes\": 0},
  \"compaction_interval\": \"5m\"
}
" root:netsy
}
