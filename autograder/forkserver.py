"""The kernel fork server: one per grading run (a submission, or a few of a class), inside the
run's bubblewrap sandbox (``autograder/sandbox.py``).

It imports what every kernel needs (ipykernel, NumPy, the chapter's libraries) once, runs
no learner code itself, and forks one fresh kernel per exercise on the grader's request.
Each kernel joins its submission's cgroup (the grader moves it) and gets namespaces of its
own inside the sandbox, so that no exercise can reach another, of the same submission or not:

- a user namespace that maps only the sandbox's uid, in which the kernel briefly holds the
  capabilities it needs to set up its mounts, then drops them all (and may gain no more);
- a pid namespace whose first process is the kernel: when it ends, every process it
  started ends with it, and it can signal or trace no other process;
- ipc, network and uts namespaces: no shared memory, message queue or socket of another kernel;
- a mount namespace where ``/tmp`` and the home are fresh tmpfs, the course package is that
  exercise's view of it, and the other exercises' views and channels are hidden under an
  empty tmpfs (mounts set up this way cannot be undone from a namespace created later).

The fork server and every kernel are not dumpable, so no process of the sandbox can read or
write another's memory, open files, file system or environment through ``/proc``. It still
reads the others' command lines and mount tables there and, with the grader as root, can
write their ``oom_score_adj`` (marked open in tests/test_fork_server_attacks.py).

It runs as a script (``python forkserver.py PACKAGE``, where the course package is
installed) and speaks JSON lines (see :func:`serve`).
It uses only the standard library and what the kernel itself imports.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import signal
import sys

# From <sched.h>, <sys/mount.h>, <linux/prctl.h>, <linux/capability.h>.
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE = 1, 2, 4, 32, 4096, 8192
MS_REC, MS_PRIVATE = 16384, 1 << 18
# statvfs flag -> the mount flag to keep on a remount: nosuid, nodev, noexec, noatime, nodiratime, relatime
KEPT_FLAGS = [(2, MS_NOSUID), (4, MS_NODEV), (8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21)]
KEYCTL_JOIN_SESSION_KEYRING = 1
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 24, 38
CLONE_NEWCGROUP = 0x02000000
NEW_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP
# What bubblewrap would cover read-only in /proc, had it the right to: the host's settings
# (the sandbox's uid is the grader's, often root, which every sysctl's own check lets in).
PROC_SETTINGS = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"]
CHANNEL_SOCKETS = 5  # shell, iopub, stdin, control and heartbeat: then the channel is sealed
# System calls a kernel may not make, by architecture (seccomp's AUDIT_ARCH, then numbers):
# namespaces and mounts (whose caps a nested user namespace would give back), keyrings
# (the host's root keyrings are the sandbox uid's), and clone3 (its flags cannot be read:
# ENOSYS makes the C library fall back to clone, whose flags are checked).
SYSTEM_CALLS = {
    "x86_64": {"arch": 0xC000003E, "clone": 56, "clone3": 435,
               "denied": [165, 166, 155, 272, 308, 248, 249, 250, 428, 429, 430, 431, 432, 433, 442]},
    "aarch64": {"arch": 0xC00000B7, "clone": 220, "clone3": 435,
                "denied": [40, 39, 41, 97, 268, 217, 218, 219, 428, 429, 430, 431, 432, 433, 442]},
}
KEYCTL = {"x86_64": 250, "aarch64": 219}  # keyctl(2) has no wrapper in the C library
CAPABILITY_VERSION_3, LAST_CAPABILITY = 0x20080522, 63

HIDDEN = "/grader"  # views and channels of every kernel live below it, hidden from each kernel
TMPFS = "size=512m,mode=1777"
ENVIRONMENT = dict(os.environ)  # bubblewrap's, as set in autograder/sandbox.py, before any import
HOME = ENVIRONMENT["HOME"]

libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _call(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda text: text.encode() if text is not None else None)
    _call(libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)), f"mount {target}")


def _enter_namespaces() -> None:
    """New user, mount, ipc, network, uts and (for the next child) pid namespaces, mapping
    only this process's uid and gid."""
    uid, gid = os.getuid(), os.getgid()
    _call(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWPID),
          "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)


def _set_up_mounts(course: str, package: str, channel: str) -> None:
    """The kernel's own file system: its course view at ``package``, fresh ``/tmp``, home and
    ``/dev/shm``, its own channel folder, and nothing of :data:`HIDDEN` or the other channels."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(course, package, None, MS_BIND | MS_REC)
    _mount(None, package, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount("tmpfs", HIDDEN, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")  # the other views
    parked = f"{HIDDEN}/channel"
    os.mkdir(parked)
    _mount(channel, parked, None, MS_BIND)
    for folder in ("/tmp", HOME, "/dev/shm", os.path.dirname(channel)):  # the other channels, too
        if os.path.isdir(folder):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS)
    os.makedirs(channel)
    _mount(parked, channel, None, MS_MOVE)
    if os.path.isdir("/dev/pts"):  # the sandbox's pseudo-terminals: no kernel gets any
        _mount("tmpfs", "/dev/pts", "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k")
    for folder in PROC_SETTINGS:
        if os.path.exists(folder):
            _mount(folder, folder, None, MS_BIND | MS_REC)
            _read_only(folder)
    for folder in ("/", "/dev", HIDDEN):  # the sandbox's own folders, which all its kernels share
        _read_only(folder)


def _read_only(folder: str) -> None:
    """Remount ``folder`` read-only, keeping the flags it has (a namespace may not drop them)."""
    flags = os.statvfs(folder).f_flag
    kept = sum(mount_flag for statvfs_flag, mount_flag in KEPT_FLAGS if flags & statvfs_flag)
    _mount(None, folder, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _own_session_keyring() -> None:
    """A new session keyring: the one inherited from the fork server is shared by every fork."""
    number = KEYCTL.get(os.uname().machine)
    if number is None:
        raise OSError(f"keyctl's system call number on {os.uname().machine} is not known here")
    if libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"keyctl: {os.strerror(error)}")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockProgram(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _deny_system_calls() -> None:
    """A seccomp filter (classic BPF): :data:`SYSTEM_CALLS`' ``denied`` fail with EPERM, so do
    clones into new namespaces and every call of another architecture; clone3 fails with ENOSYS."""
    table = SYSTEM_CALLS.get(os.uname().machine)
    if table is None:
        raise OSError(f"no seccomp table for {os.uname().machine}: the kernel is not started")
    load, jump_eq, jump_ge, jump_set, ret = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|..|K, BPF_RET|K
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    # (code, jump if true, jump if false, k): a jump names its target, resolved below
    program = [(load, 0, 0, 4), (jump_eq, 0, "deny", table["arch"]),
               (load, 0, 0, 0), (jump_ge, "deny", 0, 0x40000000)]  # x32 calls on x86-64
    program += [(jump_eq, "deny", 0, number) for number in table["denied"]]
    program += [(jump_eq, 0, "clone", table["clone3"]), (ret, 0, 0, enosys),
                ("clone", jump_eq, 0, "allow", table["clone"]), (load, 0, 0, 16),  # clone's flags (first argument)
                (jump_set, "deny", 0, NEW_NAMESPACES),
                ("allow", ret, 0, 0, allow), ("deny", ret, 0, 0, eperm)]
    labels = {entry[0]: index for index, entry in enumerate(program) if isinstance(entry[0], str)}
    program = [entry[1:] if isinstance(entry[0], str) else entry for entry in program]

    def offset(target: int | str, index: int) -> int:
        return labels[target] - index - 1 if isinstance(target, str) else target

    program = [(code, offset(true, index), offset(false, index), k)
               for index, (code, true, false, k) in enumerate(program)]
    filters = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    _call(libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(_SockProgram(len(program), filters)), 0, 0), "seccomp")


def _drop_capabilities() -> None:
    """Give up every capability, for good: none left, none to gain by exec."""
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    _call(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _call(libc.capset(ctypes.byref(_CapHeader(CAPABILITY_VERSION_3, 0)), (_CapData * 2)()), "capset")


def _quiet_standard_streams() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)


def _run_kernel(request: dict, package: str) -> None:
    """In the pid namespace's first process: set up, then become the kernel (never returns)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _set_up_mounts(request["course"], package, request["channel"])
    _own_session_keyring()
    _drop_capabilities()
    _deny_system_calls()
    os.environ.clear()
    os.environ.update(ENVIRONMENT)
    os.chdir(HOME)
    sys.path[:] = [entry for entry in sys.path if entry and not entry.startswith(HIDDEN)]
    from attn.grading import start_kernel  # from this exercise's view, mounted above

    start_kernel(request["connection"], int(request["memory"]), int(request["processes"]))


class Holder:
    """The process that holds one kernel's namespaces: forked at once, it waits for the grader's
    go (which comes once the grader has moved it into its submission's cgroup), then makes the
    namespaces, forks the kernel (the first process of the new pid namespace) and waits for it."""

    def __init__(self, request: dict, package: str) -> None:
        self.name = request["start"]
        self.kernel = 0
        go_read, self.go = os.pipe()
        self.reply, reply_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.go)
            os.close(self.reply)
            _hold(request, package, go_read, reply_write)
        os.close(go_read)
        os.close(reply_write)

    def start(self) -> None:
        """Let it go on, and learn its kernel's pid (0 if it failed before forking it)."""
        os.write(self.go, b"g")
        with os.fdopen(self.reply, "rb") as reply:
            self.kernel = int(reply.read() or 0)
        self.reply = -1

    def kill(self) -> None:
        """SIGKILL the kernel, which takes its pid namespace along: the holder ends once every
        process of it has (it reaps the kernel), and only then is the kernel reported ended. A
        holder whose kernel was never made is killed itself."""
        try:
            os.kill(self.kernel if self.kernel > 0 else self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        for fd in (self.go, self.reply):
            if fd >= 0:
                os.close(fd)
        self.go = self.reply = -1


def _hold(request: dict, package: str, go: int, reply: int) -> None:
    """The holder's life (never returns)."""
    try:
        signal.set_wakeup_fd(-1)  # the fork server's, not the kernel's
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        low, high = sorted((go, reply))
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, 1 << 16)
        _quiet_standard_streams()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.read(go, 1) != b"g":  # the fork server is gone
            os._exit(1)
        os.close(go)
        _enter_namespaces()
        kernel = os.fork()
        if kernel == 0:
            os.close(reply)
            _run_kernel(request, package)
        os.write(reply, str(kernel).encode())
        os.close(reply)
        _seal_channel(request["channel"], kernel)
        os.waitpid(kernel, 0)
        os._exit(0)
    except BaseException:
        os._exit(1)


# What every kernel imports, ahead; the second line is what a kernel's start imports (ipykernel's
# debugger among them: 0.12 s of CPU per kernel otherwise).
BASE_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython.display", "numpy",
                "ipykernel.debugger", "debugpy", "pydevd", "IPython.core.completerlib", "IPython.core.debugger",
                "IPython.extensions.storemagic", "sqlite3", "tornado.platform.asyncio"]


def _seal_channel(channel: str, kernel: int) -> None:
    """Once the kernel has made its sockets in its channel folder (a folder on the host's disk),
    make that folder read-only: the kernel shares this mount namespace but has no capability to
    undo it, and so cannot fill the host's disk."""
    for _ in range(6000):  # up to a minute: a busy machine starts kernels slowly
        try:
            made = [name for name in os.listdir(channel) if name != "kernel.json"]
        except FileNotFoundError:  # the kernel is between its mounts: the folder comes back
            made = []
        if len(made) >= CHANNEL_SOCKETS:
            _read_only(channel)
            return
        if os.waitpid(kernel, os.WNOHANG)[0]:  # it ended as it started, and is reaped: the holder is done
            os._exit(0)
        select.select([], [], [], 0.01)
    os.kill(kernel, signal.SIGKILL)  # never ready: it may not run unsealed


def _preload(modules: list[str]) -> None:
    """Import what the kernels will import, so that each fork has it already."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # the kernel that needs it will say so itself
            continue


def serve(package: str) -> None:
    """Answer the grader's requests until it closes stdin; kill every kernel then.

    It first imports :data:`BASE_MODULES`; requests wait in the pipe meanwhile. Requests:
    ``preload`` imports more modules; ``start`` (with the kernel's connection file, course
    view, channel folder and limits) forks a kernel's holder and replies ``{"forked": id, "pid": n}``;
    ``go`` lets it make its namespaces and kernel; ``kill`` kills it. Each holder that ends
    is reported as ``{"ended": id}``.
    """
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _preload(BASE_MODULES)
    holders: dict[str, Holder] = {}
    out = sys.stdout

    def send(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    requests = os.fdopen(sys.stdin.fileno(), "rb", buffering=0)
    wake_read, wake_write = os.pipe()  # a byte arrives on each SIGCHLD: a kernel's holder ended
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    pending = b""
    while True:
        readable, _, _ = select.select([requests, wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 4096)
        if requests in readable:
            chunk = requests.read(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                if "start" in request:
                    holder = holders[request["start"]] = Holder(request, package)
                    send({"forked": holder.name, "pid": holder.pid})
                elif "preload" in request:
                    _preload(request["preload"])
                elif request.get("go") in holders:
                    holders[request["go"]].start()
                elif request.get("kill") in holders:
                    holders[request["kill"]].kill()
        by_pid = {holder.pid: holder for holder in holders.values()}
        while by_pid:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in by_pid:
                ended = by_pid.pop(pid)
                if ended.kernel > 0 and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                    ended.kill()  # it did not see its kernel end
                ended.close()
                del holders[ended.name]
                send({"ended": ended.name})
    for holder in holders.values():
        holder.kill()


if __name__ == "__main__":
    serve(sys.argv[1])
