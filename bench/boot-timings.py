# Run on a benchmark VM as root after the boot and the delivery (`sudo python3 - <units,comma-separated>`):
# prints one JSON document of boot events, all in seconds of CLOCK_MONOTONIC (since the kernel
# started). Wall-clock lines (cloud-init.log) are converted with the guest's own
# wall-minus-monotonic offset; the guest has no NTP, so that offset does not move during a boot.
import json
import re
import subprocess
import sys
import time
from datetime import datetime, timezone


def run(args):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", check=False).stdout


# configure.sh's per-phase line (with or without its "podplane-configure: " prefix).
TIMINGS = re.compile(r"timings: [a-z][a-z0-9_-]*=\d+ms")


def main():
    units = [u for u in sys.argv[1].split(",") if u]
    wall_at_boot = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)
    events = {}
    configure_lines = []

    # cloud-init.log: "2026-11-25 08:57:01,123 - ..." (UTC); stage starts, config-ssh, the user script.
    patterns = {
        "cloudInitLocal": r"running 'init-local'",
        "cloudInitNetwork": r"running 'init' ",
        "sshKeygenStart": r"start: init-network/config-ssh",
        "sshKeygenEnd": r"finish: init-network/config-ssh",
        "cloudInitConfig": r"running 'modules:config'",
        "cloudInitFinal": r"running 'modules:final'",
        "userScriptStart": r"Running command \['/var/lib/cloud/instance/scripts/",
        "cloudInitDone": r"finish: modules-final: ",
    }
    try:
        with open("/var/log/cloud-init.log", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        stamp = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})", line)
        if not stamp:
            continue
        for name, pattern in patterns.items():
            if name not in events and re.search(pattern, line):
                wall = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
                events[name] = wall + int(stamp.group(2)) / 1000 - wall_at_boot

    # The journal, in monotonic time: systemd's start, configure.sh's timings lines (every copy;
    # the host folds duplicates), install.sh's digest check, the benchmark's own marks.
    for raw in run(["journalctl", "-b", "-o", "json", "--no-pager", "--output-fields=MESSAGE,_PID,SYSLOG_IDENTIFIER"]).splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        message = entry.get("MESSAGE")
        if not isinstance(message, str):
            continue
        mono = int(entry["__MONOTONIC_TIMESTAMP"]) / 1e6
        if entry.get("_PID") == "1" and "systemdStart" not in events:
            events["systemdStart"] = mono
        if TIMINGS.search(message):
            configure_lines.append({"at": mono, "text": message})
        if "podplane-install: verified" in message:
            events.setdefault("bench:digests verified (install.sh)", mono)
        if entry.get("SYSLOG_IDENTIFIER") == "podplane-bench":
            events.setdefault("bench:" + message, mono)

    shown = run(["systemctl", "show", "-p", "Id,ActiveEnterTimestampMonotonic,ActiveState"] + units)
    active = {}
    for block in shown.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("Id"):
            active[fields["Id"]] = {"state": fields.get("ActiveState"), "at": int(fields.get("ActiveEnterTimestampMonotonic") or 0) / 1e6}
    print(json.dumps({"events": events, "configureLines": configure_lines, "units": active, "systemdAnalyze": run(["systemd-analyze"]).strip()}))


main()
