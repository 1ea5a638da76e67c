# The boot test's probe, run on the test VM as root (`sudo python3 - <request>`; python3 is there
# because cloud-init is). It only reads: files, unit states, cloud-init's status, this boot's
# journal lines of vmconfig, the dpkg log. It prints one JSON document. The request is base64 JSON:
# {"units": [...], "paths": [...], "globs": [...], "connect": {"host", "port"} | null}.
import base64
import glob
import json
import os
import socket
import subprocess
import sys
import time

UNIT_PROPERTIES = [
    "Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID", "NRestarts",
    "InvocationID", "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic",
    "ExecMainStatus", "Result", "ActiveEnterTimestampMonotonic",
]
JOURNAL_WORDS = ("podplane", "nstance-recv", "configure", "bootstrap", "update-mutable", "restart.sh")


def run(args):
    done = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def file_info(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    info = {"mode": "%04o" % (st.st_mode & 0o7777), "size": st.st_size, "mtimeNs": str(st.st_mtime_ns),
            "inode": st.st_ino, "uid": st.st_uid, "isDir": os.path.isdir(path)}
    if not info["isDir"] and st.st_size <= 1_000_000:
        with open(path, "rb") as handle:
            info["content"] = handle.read().decode("utf-8", "replace")
    return info


def units(names):
    out = {}
    for name in names:
        shown = run(["systemctl", "show", name, "-p", ",".join(UNIT_PROPERTIES)])["stdout"]
        out[name] = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    return out


def try_connect(target):
    if not target:
        return None
    try:
        with socket.create_connection((target["host"], target["port"]), timeout=3):
            return "connected"
    except OSError as error:
        return "refused: %s" % error


def dpkg_since_boot(boot_epoch):
    lines = []
    for path in ("/var/log/dpkg.log",):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines.extend(handle.read().splitlines())
        except OSError:
            pass
    # dpkg.log lines start with "YYYY-MM-DD HH:MM:SS"; compare as epoch seconds.
    recent = []
    for line in lines:
        try:
            stamp = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            continue
        if stamp >= boot_epoch and (" install " in line or " upgrade " in line):
            recent.append(line)
    return recent


def main():
    request = json.loads(base64.b64decode(sys.argv[1]))
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
        boot_id = handle.read().strip()
    with open("/proc/uptime", encoding="ascii") as handle:
        uptime = float(handle.read().split()[0])
    boot_epoch = int(time.time() - uptime)
    paths = list(request.get("paths", []))
    for pattern in request.get("globs", []):
        paths.extend(sorted(glob.glob(pattern)))
    status = run(["cloud-init", "status", "--format", "json"])
    try:
        cloud_init = json.loads(status["stdout"])
    except ValueError:
        cloud_init = {"unparsed": status["stdout"] + status["stderr"]}
    journal = run(["journalctl", "-b", "--no-pager", "-o", "short-monotonic"])["stdout"].splitlines()
    scripts_dir = "/var/lib/cloud/instance/scripts"
    scripts = sorted(os.listdir(scripts_dir)) if os.path.isdir(scripts_dir) else []
    print(json.dumps({
        "bootId": boot_id,
        "uptime": uptime,
        "files": {path: file_info(path) for path in paths},
        "units": units(request.get("units", [])),
        "cloudInit": cloud_init,
        "cloudScripts": {name: file_info(os.path.join(scripts_dir, name)) for name in scripts},
        "journal": [line for line in journal if any(word in line for word in JOURNAL_WORDS)][-400:],
        "dpkgSinceBoot": dpkg_since_boot(boot_epoch),
        "connect": try_connect(request.get("connect")),
        "failedUnits": run(["systemctl", "list-units", "--failed", "--plain", "--no-legend"])["stdout"].splitlines(),
    }))


main()
