# The boot test's probe, run on the test VM as root (`sudo python3 - <request>`; python3 is there
# because cloud-init is). It only reads: files, unit states, cloud-init's status, this boot's
# journal lines of vmconfig, the dpkg log, and what each unit's processes show in /proc (command
# line, uids, environment, listening sockets). It prints one JSON document. The request is base64
# JSON: {"units": [...], "paths": [...], "globs": [...], "connect": {"host", "port"} | null,
# "users": [...], "access": [...paths or globs], "canary": url | null}.
# Private keys are reported by digest, never by content.
import base64
import glob
import grp
import hashlib
import json
import os
import pwd
import socket
import subprocess
import sys
import time
import urllib.request

UNIT_PROPERTIES = [
    "Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID", "NRestarts",
    "InvocationID", "ExecMainStartTimestampMonotonic", "ExecMainExitTimestampMonotonic",
    "ExecMainStatus", "Result", "ActiveEnterTimestampMonotonic", "User", "Group", "ControlGroup",
]
KEY_DIRS = ("/opt/key/", "/opt/nstance-agent/keys/", "/opt/nstance-agent/identity/")
JOURNAL_WORDS = ("podplane", "nstance-recv", "configure", "bootstrap", "update-mutable", "restart.sh")


def run(args):
    done = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def name_of(table, ident):
    try:
        return table(ident)[0]
    except KeyError:
        return str(ident)


def is_secret_path(path):
    return path.startswith(KEY_DIRS) or path.endswith(".key")


def file_info(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    info = {"mode": "%04o" % (st.st_mode & 0o7777), "size": st.st_size, "mtimeNs": str(st.st_mtime_ns),
            "inode": st.st_ino, "uid": st.st_uid, "gid": st.st_gid, "owner": name_of(pwd.getpwuid, st.st_uid),
            "group": name_of(grp.getgrgid, st.st_gid), "isDir": os.path.isdir(path), "isLink": os.path.islink(path)}
    if os.path.isfile(path) and not info["isLink"] and st.st_size <= 1_000_000:
        with open(path, "rb") as handle:
            data = handle.read()
        info["sha256"] = hashlib.sha256(data).hexdigest()
        if not is_secret_path(path):
            info["content"] = data.decode("utf-8", "replace")
    return info


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def listening_sockets():
    """inode -> description of every listening TCP and unix socket."""
    found = {}
    for proto in ("tcp", "tcp6"):
        for line in (read_text("/proc/net/" + proto) or b"").decode().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":
                address, port = fields[1].split(":")
                if proto == "tcp":
                    host = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                else:
                    raw = bytes.fromhex(address)
                    host = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
                found[fields[9]] = "%s %s:%d" % (proto, host, int(port, 16))
    for line in (read_text("/proc/net/unix") or b"").decode(errors="replace").splitlines()[1:]:
        fields = line.split()
        # Flags 00010000 = __SO_ACCEPTCON (listening); the path is the 8th field when bound.
        if len(fields) >= 8 and fields[3] == "00010000":
            found[fields[6]] = "unix " + fields[7]
    return found


def process(pid, sockets):
    base = "/proc/%d/" % pid
    cmdline = read_text(base + "cmdline")
    if cmdline is None:
        return None
    status = (read_text(base + "status") or b"").decode(errors="replace")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    environ = {}
    for item in (read_text(base + "environ") or b"").split(b"\0"):
        if b"=" in item:
            key, value = item.split(b"=", 1)
            environ[key.decode(errors="replace")] = value.decode(errors="replace")
    try:
        exe = os.readlink(base + "exe")
    except OSError:
        exe = None
    return {"pid": pid, "argv": [a.decode(errors="replace") for a in cmdline.split(b"\0")[:-1]],
            "exe": exe, "uid": fields.get("Uid", "").split(), "gid": fields.get("Gid", "").split(),
            "environ": environ, "listens": listens_of(pid, sockets)}


def listens_of(pid, sockets):
    out = []
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inode = link[8:-1]
            if inode in sockets and sockets[inode] not in out:
                out.append(sockets[inode])
    return sorted(out)


def processes(unit_states):
    """For each unit with a main process: that process, plus the listening sockets of its whole cgroup."""
    sockets = listening_sockets()
    out = {}
    for name, state in unit_states.items():
        pid = int(state.get("MainPID", "0") or 0)
        if pid <= 0:
            continue
        main = process(pid, sockets)
        if main is None:
            continue
        group = state.get("ControlGroup", "")
        procs = (read_text("/sys/fs/cgroup%s/cgroup.procs" % group) or b"").split() if group else []
        listens = set(main["listens"])
        for other in procs:
            if int(other) != pid:
                listens.update(listens_of(int(other), sockets))
        main["cgroupListens"] = sorted(listens)
        out[name] = main
    return out


def argv_files(procs):
    """Config files named on the command lines (--flag=/path or --flag /path), not keys."""
    paths = set()
    for proc in procs.values():
        argv = proc["argv"]
        for index, arg in enumerate(argv):
            value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else (arg if index > 0 and argv[index - 1].startswith("-") else "")
            if value.startswith("/") and os.path.isfile(value) and not is_secret_path(value) and os.path.getsize(value) <= 262144:
                paths.add(value)
    return {path: file_info(path) for path in sorted(paths)}


def users(names):
    out = {}
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            out[name] = None
            continue
        groups = sorted({g.gr_name for g in grp.getgrall() if name in g.gr_mem} | {name_of(grp.getgrgid, entry.pw_gid)})
        out[name] = {"uid": entry.pw_uid, "gid": entry.pw_gid, "groups": groups}
    return out


def readable_by(name, paths):
    """Which of `paths` user `name` can read, asked of the kernel in a child that became that user."""
    entry = pwd.getpwnam(name)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read_end)
            os.setgroups(os.getgrouplist(name, entry.pw_gid))
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            result = {path: os.access(path, os.R_OK) for path in paths}
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(child, 0)
    return json.loads(b"".join(chunks) or b"{}")


def access(names, patterns):
    paths = []
    for pattern in patterns:
        paths.extend(sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern])
    out = {}
    for name in names:
        try:
            out[name] = readable_by(name, paths)
        except KeyError:
            out[name] = None
    return out


def fetch_canary(url):
    if not url:
        return None
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return "HTTP %d" % response.status
    except urllib.error.HTTPError as error:
        return "HTTP %d" % error.code
    except OSError as error:
        return "failed: %s" % error


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
    unit_states = units(request.get("units", []))
    procs = processes(unit_states)
    print(json.dumps({
        "bootId": boot_id,
        "uptime": uptime,
        "files": {path: file_info(path) for path in paths},
        "units": unit_states,
        "processes": procs,
        "argvFiles": argv_files(procs),
        "hostname": socket.gethostname(),
        "users": users(request.get("users", [])),
        "access": access(request.get("users", []), request.get("access", [])),
        "cloudInit": cloud_init,
        "cloudScripts": {name: file_info(os.path.join(scripts_dir, name)) for name in scripts},
        "journal": [line for line in journal if any(word in line for word in JOURNAL_WORDS)][-400:],
        "dpkgSinceBoot": dpkg_since_boot(boot_epoch),
        "connect": try_connect(request.get("connect")),
        "canary": fetch_canary(request.get("canary")),
        "failedUnits": run(["systemctl", "list-units", "--failed", "--plain", "--no-legend"])["stdout"].splitlines(),
    }))


main()
