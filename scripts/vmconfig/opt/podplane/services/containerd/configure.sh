#!/usr/bin/env bash
# configure_containerd: /etc/containerd/config.toml (config version 3 for containerd 2.x:
# systemd cgroups, runc at /usr/local/sbin/runc, CNI in /opt/cni/bin, the pause image of the
# manifest as the CRI sandbox image) and, with REGISTRY_ENABLED=true,
# /etc/containerd/certs.d/<REGISTRY_HOSTNAME>/hosts.toml: pulls go to the local zot with
# containerd's Nstance client certificate. Called by configure.sh with ENV; stage_file only.
# The sandbox image: the one the bake imported into containerd (installed.json marks it
# "preloaded"), by its own name, so no pod sandbox ever needs a pull; an image that was not
# preloaded goes through the cluster registry's mirror when it is on (as Podplane's does).

# shellcheck source=SCRIPTDIR/../lib.sh
source "${BASH_SOURCE[0]%/*}/../lib.sh"

# containerd_sandbox_image VAR PRELOADED: the registry.k8s.io/pause image named in
# installed.json, or empty (containerd's built-in default then); PRELOADED is true when the
# bake imported it. A builtin read and match: no fork.
containerd_sandbox_image() {
  local -n _img=$1 _pre=$2
  local json="" re='"image": *"(registry\.k8s\.io/pause:[A-Za-z0-9._-]+)"' pre_re='"image": *"(registry\.k8s\.io/pause:[A-Za-z0-9._-]+)"[^}]*"preloaded": *true'
  _img=""
  _pre=false
  [[ ! -f "$ROOM_ROOT/opt/podplane/share/installed.json" ]] ||
    IFS= read -r -d '' json <"$ROOM_ROOT/opt/podplane/share/installed.json" || true
  if [[ "$json" =~ $pre_re ]]; then
    _img=${BASH_REMATCH[1]}
    _pre=true
  elif [[ "$json" =~ $re ]]; then
    _img=${BASH_REMATCH[1]}
  fi
}

# containerd_registry_host VAR: the local zot's URL, on ::1 when the node has IPv6 (as zot binds).
containerd_registry_host() {
  local -n _host=$1
  if [[ -n "${ENV[INSTANCE_IPV6]:-}" ]]; then _host="https://[::1]:5000"; else _host="https://127.0.0.1:5000"; fi
}

configure_containerd() {
  containerd_config_toml
  containerd_registry_hosts
}

# containerd_config_toml: /etc/containerd/config.toml, containerd's one restarting input. With a
# preloaded sandbox image it reads nothing from ENV, which is why install.sh can write it at bake
# time (containerd then starts at boot, before the user-data) and configure.sh finds it unchanged.
containerd_config_toml() {
  local image preloaded pinned="" q
  local registry=${ENV[REGISTRY_HOSTNAME]:-} enabled=${ENV[REGISTRY_ENABLED]:-true}
  containerd_sandbox_image image preloaded
  if [[ -n "$image" ]]; then
    [[ "$preloaded" == true || "$enabled" != true || -z "$registry" ]] || image="$registry/mirror/$image"
    room_quote q "$image"
    pinned="
    [plugins.\"io.containerd.cri.v1.images\".pinned_images]
      sandbox = $q"
  fi
  stage_file "$ROOM_ROOT/etc/containerd/config.toml" 0644 "version = 3
oom_score = -999

[plugins]
  [plugins.\"io.containerd.cri.v1.runtime\"]
    [plugins.\"io.containerd.cri.v1.runtime\".containerd]
      default_runtime_name = \"runc\"
      [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc]
        runtime_type = \"io.containerd.runc.v2\"
        [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc.options]
          BinaryName = \"/usr/local/sbin/runc\"
          SystemdCgroup = true
    [plugins.\"io.containerd.cri.v1.runtime\".cni]
      bin_dirs = [\"/opt/cni/bin\"]
      conf_dir = \"/etc/cni/net.d\"
  [plugins.\"io.containerd.cri.v1.images\"]$pinned
    [plugins.\"io.containerd.cri.v1.images\".registry]
      config_path = \"/etc/containerd/certs.d\"
" root:root
}

# containerd_registry_hosts: the cluster registry's hosts.toml (node data: never at bake time).
containerd_registry_hosts() {
  local host hosts_dir registry=${ENV[REGISTRY_HOSTNAME]:-} enabled=${ENV[REGISTRY_ENABLED]:-true}
  [[ -n "$registry" ]] || return 0
  hosts_dir=/etc/containerd/certs.d/$registry
  if [[ "$enabled" == true ]]; then
    containerd_registry_host host
    stage_file "$ROOM_ROOT$hosts_dir/hosts.toml" 0644 "[host.\"$host\"]
  capabilities = [\"pull\", \"resolve\"]
  ca = \"/opt/crt/ca.crt\"
  client = [[\"/opt/crt/containerd.client.crt\", \"/opt/key/containerd/containerd.client.key\"]]
" root:root
  elif [[ -e "$ROOM_ROOT$hosts_dir/hosts.toml" ]]; then
    # The registry was switched off: pulls go to the registry itself again.
    rm -f -- "$ROOM_ROOT$hosts_dir/hosts.toml"
  fi
}
