"""The grader's bubblewrap sandbox: one explicit list of what its kernels can see and do.

A grading run's kernel fork server (``autograder/forkserver.py``) runs under ``bwrap`` (the
sandbox Flatpak uses) as uid/gid 65534 in new user, pid, mount, ipc, uts, cgroup and network
namespaces, so it has no network, sees only its own processes, and dies with the grader
(``--die-with-parent``). Its file system is the list in :func:`bwrap_command`: the system
libraries and the Python environment read-only, each course view read-only under
``/grader/views``, a private ``/tmp`` and home on tmpfs, and the one folder that it shares with
the grader for the kernels' IPC sockets. Everything else (the repository, ``autograder/``,
``solutions/``, the golden outputs, the grading notebook and report, other submissions, the
host's ``/tmp`` and ``/proc``) is simply not there. Each kernel, a fork of the server, then
narrows this down to its own namespaces (see ``autograder/forkserver.py``).

Memory and the number of processes are limited for each submission by a cgroup (v2 where one
with the memory and pids controllers can be written, else v1), which each of its kernels joins
before it is made, or, where neither can be written, per process by rlimits in the kernel (see
:class:`Cgroup`).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

SANDBOX_UID = 65534  # "nobody"
HOME = "/home/learner"  # the kernel's home and working directory (tmpfs)
CGROUP_ROOT = Path("/sys/fs/cgroup")
TMPFS_MB = 512  # size of each of the sandbox's tmpfs folders (/tmp, the home)
# Read-only system folders (symlinks, as Debian's /bin -> usr/bin, are recreated as links).
SYSTEM_DIRS = ["/usr", "/bin", "/lib", "/lib32", "/lib64", "/sbin"]
# The few files of /etc that Python, its libraries and the dynamic linker read. Not all of
# /etc: inside the user namespace the sandbox's uid owns what the host's root owns, so a
# root-only file bound here would be readable.
ETC_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf",
             "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/mime.types"]
ENVIRONMENT = {"HOME": HOME, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "PYTHONNOUSERSITE": "1", "MPLBACKEND": "agg", "MPLCONFIGDIR": "/tmp/.matplotlib",
               "IPYTHONDIR": "/tmp/.ipython", "TRITON_CACHE_DIR": "/tmp/.triton"}


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create namespaces here (macOS, a locked-down container)."""


def bwrap_command(views: dict[str, Path], channel_root: Path, forkserver: Path) -> list[str]:
    """The ``bwrap`` command line (without the program to run) for a submission's kernel fork
    server (``autograder/forkserver.py``): it sees each course view in ``views`` read-only at
    ``/grader/views/<name>``, and the folder of its kernels' IPC channels ``channel_root``."""
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "grader",
               "--clearenv"]
    for name, value in ENVIRONMENT.items():
        command += ["--setenv", name, value]
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            command += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            command += ["--ro-bind", folder, folder]
    for path in ETC_FILES:
        command += ["--ro-bind-try", path, path]
    for prefix in sorted({sys.base_prefix, sys.prefix}):  # a venv's python links to its base
        command += ["--ro-bind", prefix, prefix]
    command += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",  # torch reads CPU topology
                "--proc", "/proc", "--dev", "/dev",
                "--size", str(TMPFS_MB * 2**20), "--tmpfs", "/tmp",  # before anything bound under /tmp
                "--size", str(TMPFS_MB * 2**20), "--tmpfs", HOME,
                "--dir", installed_course(),  # where each kernel mounts its own view
                "--ro-bind", str(forkserver), "/grader/forkserver.py"]
    for name, view in views.items():
        command += ["--ro-bind", str(view), f"/grader/views/{name}"]
    command += ["--bind", str(channel_root), str(channel_root), "--chdir", HOME]
    return command


def installed_course() -> str:
    """Where this environment's Python finds the course package ``attn`` when run outside the
    repository (an editable install points into the repository): each kernel mounts its view
    of the package there."""
    location = _probe()[1]
    if not location:
        raise SandboxUnavailable("the course package 'attn' is not installed in this environment "
                                 "(pip install -e . from the course's folder)")
    return location


def sandbox_problem() -> str | None:
    """Why the sandbox cannot run on this machine, or ``None`` when it can (checked once)."""
    return _probe()[0]


# Run in a bare sandbox: each kernel makes namespaces of its own inside the sandbox
# (autograder/forkserver.py), which a container may allow to bubblewrap but not to them; and
# the course package is looked up as the kernels' Python will (no repository on the path).
PROBE = """
import ctypes, importlib.util, os
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000):
    raise SystemExit("nested namespaces: " + os.strerror(ctypes.get_errno()))
spec = importlib.util.find_spec("attn")
print(list(spec.submodule_search_locations)[0] if spec else "")
"""


@functools.cache
def _probe() -> tuple[str | None, str]:
    """Why the sandbox cannot run here (or ``None``), and where the course package is installed."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux (this is {sys.platform})", ""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)", ""
    probe = ["bwrap", "--unshare-all", "--die-with-parent", "--uid", str(SANDBOX_UID),
             "--gid", str(SANDBOX_UID), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
             "--chdir", "/", sys.executable, "-I", "-c", PROBE]
    finished = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    if finished.returncode != 0:
        detail = (finished.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create the kernels' namespaces here ({detail})", ""
    return None, finished.stdout.strip()


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailable` with the one-line reason when there is no sandbox."""
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailable(problem)


class Cgroup:
    """One submission's cgroup: memory and process limits for all its processes together.

    ``mode`` is ``"v2"``, ``"v1"`` or ``"rlimit"`` (no cgroup could be written: the kernel
    then limits itself per process: ``attn.grading.start_kernel``). Use
    as a context manager: the cgroup is removed on exit, after killing anything still in it.
    """

    def __init__(self, memory_mb: int, processes: int) -> None:
        self.memory_bytes = memory_mb * 2**20
        self.processes = processes
        self.name = f"attn-grader-{uuid.uuid4().hex[:12]}"
        self.folders: list[Path] = []
        self.mode = "rlimit"

    def __enter__(self) -> Cgroup:
        for mode, make in (("v2", self._make_v2), ("v1", self._make_v1)):
            try:
                if make():
                    self.mode = mode
                    return self
            except OSError:
                self._remove()
        return self

    def _make_v2(self) -> bool:
        base = _own_v2_cgroup()
        if base is None:
            return False
        controllers = (base / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(controllers):
            return False
        folder = base / self.name
        folder.mkdir()
        self.folders = [folder]
        (folder / "memory.max").write_text(str(self.memory_bytes))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        (folder / "pids.max").write_text(str(self.processes))
        return True

    def _make_v1(self) -> bool:
        memory, pids = _own_v1_cgroup("memory"), _own_v1_cgroup("pids")
        if memory is None or pids is None:
            return False
        self.folders = [memory / self.name, pids / self.name]
        for folder in self.folders:
            folder.mkdir()
        (self.folders[0] / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
        (self.folders[1] / "pids.max").write_text(str(self.processes))
        return True

    def launcher(self) -> list[str]:
        """A command prefix that moves itself into the cgroup, then runs the rest (``exec "$@"``)."""
        if self.mode == "rlimit":
            return []
        joins = " && ".join(f"echo $$ > {shlex.quote(str(folder / 'cgroup.procs'))}" for folder in self.folders)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "grader-join-cgroup"]

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process is written into to join the cgroup (none: rlimits)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def kill(self) -> None:
        """Kill every process left in the cgroup."""
        for folder in self.folders:
            procs = folder / "cgroup.procs"
            for _ in range(50):
                try:
                    pids = [int(pid) for pid in procs.read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass

    def _remove(self) -> None:
        for folder in self.folders:
            for _ in range(100):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy: processes are still exiting
                    self.kill()
                    time.sleep(0.01)
        self.folders = []

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self._remove()


def _own_v2_cgroup() -> Path | None:
    """The writable cgroup v2 folder this process belongs to, or ``None``."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
                folder = mount / line[3:].lstrip("/")
                if (folder / "cgroup.subtree_control").exists() and os.access(folder, os.W_OK):
                    return folder
    return None


def _own_v1_cgroup(controller: str) -> Path | None:
    """This process's writable cgroup v1 folder for ``controller``, or ``None``."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            if (folder / "cgroup.procs").exists() and os.access(folder, os.W_OK):
                return folder
    return None
