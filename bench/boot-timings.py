# Run on a benchmark VM as root after the boot and the delivery (`sudo python3 - <units,comma-separated>`):
# prints one JSON document of boot events, all in seconds of CLOCK_MONOTONIC (since the kernel
# started). Wall-clock lines (cloud-init.log) are converted with the guest's own
# wall-minus-monotonic offset; the guest has no NTP, so that offset does not move during a boot.
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone


def run(args):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", check=False).stdout


# configure.sh's per-phase line (with or without its "podplane-configure: " prefix).
TIMINGS = re.compile(r"timings: [a-z][a-z0-9_-]*=\d+ms")

# systemd's catalogued job messages (MESSAGE_ID, logged by PID 1 with UNIT=): the start/stop jobs
# of each unit, so the report can say how long each start took and what the delivery restarted.
JOB_MESSAGES = {
    "7d4958e842da4a758f6c1cdc7b36dcc5": "starting",
    "39f53479d3a045ac8e11786248231fbf": "started",
    "de5b426a63be47a7b6ac3eaac82e2f6f": "stopping",
    "9d1aaa27d60140bd96365438aad20286": "stopped",
    "be02cf6855d2428ba40df7e9d022f03d": "failed",
    "5eb03494b6584870a536b337290809b3": "restart-scheduled",
}
# A unit skipped for its ConditionPathExists= has no catalogued message, only this text.
SKIPPED = re.compile(r"was skipped because .*condition")
# What restart.sh decided in each run (one line per configure.sh run).
RESTART_SUMMARY = re.compile(r"(?:podplane-restart: )?(started: .*; restarted: .*)$")
STANDIN_DIR = "/var/lib/podplane-standin"


def main():
    units = [u for u in sys.argv[1].split(",") if u]
    wall_at_boot = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)
    events = {}
    configure_lines = []
    unit_jobs = {u: [] for u in units}
    restart_lines = []

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
    fields = "MESSAGE,_PID,SYSLOG_IDENTIFIER,MESSAGE_ID,UNIT"
    for raw in run(["journalctl", "-b", "-o", "json", "--no-pager", "--output-fields=" + fields]).splitlines():
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
        if entry.get("_PID") == "1" and entry.get("UNIT") in unit_jobs:
            what = JOB_MESSAGES.get(entry.get("MESSAGE_ID", ""))
            if what is None and SKIPPED.search(message):
                what = "skipped"
            if what is not None:
                unit_jobs[entry["UNIT"]].append({"at": mono, "what": what})
        summary = RESTART_SUMMARY.search(message)
        if summary and "podplane-restart" in message + str(entry.get("SYSLOG_IDENTIFIER")):
            restart_lines.append({"at": mono, "text": summary.group(1)})
        if "podplane-install: verified" in message:
            events.setdefault("bench:digests verified (install.sh)", mono)
        if entry.get("SYSLOG_IDENTIFIER") == "podplane-bench":
            events.setdefault("bench:" + message, mono)

    shown = run(["systemctl", "show", "-p", "Id,ActiveEnterTimestampMonotonic,ActiveState,ExecMainStartTimestampMonotonic,NRestarts"] + units)
    active = {}
    for block in shown.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("Id"):
            active[fields["Id"]] = {
                "state": fields.get("ActiveState"),
                "at": int(fields.get("ActiveEnterTimestampMonotonic") or 0) / 1e6,
                "execAt": int(fields.get("ExecMainStartTimestampMonotonic") or 0) / 1e6,
                "restarts": int(fields.get("NRestarts") or 0),
            }
    print(
        json.dumps(
            {
                "events": events,
                "configureLines": configure_lines,
                "units": active,
                "unitJobs": unit_jobs,
                "restartLines": restart_lines,
                "standinStarts": standin_starts(wall_at_boot),
                "systemdAnalyze": run(["systemd-analyze"]).strip(),
            }
        )
    )


def standin_starts(wall_at_boot):
    """Each stand-in's record of its starts (<name>.starts: "<wall seconds> <pid>" per start,
    written once its checks passed, just before it listens), in monotonic seconds: the time from
    the unit's exec to there is the interpreter's start-up plus the stand-in's checks."""
    starts = {}
    try:
        names = sorted(os.listdir(STANDIN_DIR))
    except OSError:
        return starts
    for name in names:
        if not name.endswith(".starts"):
            continue
        try:
            with open(os.path.join(STANDIN_DIR, name), encoding="utf-8", errors="replace") as handle:
                rows = [line.split() for line in handle]
        except OSError:
            continue
        starts[name[: -len(".starts")]] = [float(r[0]) - wall_at_boot for r in rows if len(r) == 2]
    return starts


main()
