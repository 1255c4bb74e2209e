"""Attacks on the kernel fork server's isolation, mounted from learner code inside a kernel.

Each test plays a hostile student whose code runs in one exercise's kernel and tries to reach
what the sandbox hides from it: another exercise's course view (the answers its own view stubs
out), another kernel's channel (its HMAC key), the fork server, a kernel that runs before or
after it, the submission's cgroup limits, or privileges. Each asserts that the attack fails;
an attack that succeeds on the current sandbox is marked ``xfail(strict=True)`` with what it
breaks, so that the suite runs and the fix shows as an unexpected pass.

The probes call system calls by their x86-64 numbers.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import secrets
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from autograder.forked_kernels import ForkServer, launch_fork_server
from autograder.notebooks import ROOT
from autograder.sandbox import Cgroup, sandbox_problem
from test_sandbox import Sandbox

pytestmark = [
    pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probes use x86-64 system call numbers"),
]

ANSWER = secrets.token_hex(8)  # what the hidden view holds: found anywhere by a kernel, an attack worked
# The grader is the host's root (as on Gradescope): bubblewrap maps the sandbox's uid to it, so the
# kernels pass every check that compares a uid with root's (sysctls, a non-dumpable task's /proc files).
ROOT_IS_HOSTS = os.geteuid() == 0 and Path("/proc/self/uid_map").read_text().split()[:2] == ["0", "0"]


class Batch(Sandbox):
    """A grading run's fork server with two course views: ``attn`` (each kernel's own) and
    ``second`` (another exercise's, which holds :data:`ANSWER`: no kernel may read it)."""

    def __init__(self, root: Path) -> None:
        second = root / "second"
        shutil.copytree(ROOT / "attn", second)
        (second / "answer.txt").write_text(ANSWER)
        self.channel_root = root / "channels"
        self.channel_root.mkdir()
        self.process = launch_fork_server({"attn": ROOT / "attn", "second": second}, self.channel_root)
        self.server = ForkServer(os.dup(self.process.stdin.fileno()), os.dup(self.process.stdout.fileno()),
                                 self.process.pid, 2**32, 0)
        self.kernels = 0

    @contextlib.contextmanager
    def opened(self, cgroup: Cgroup | None = None):
        """A fresh kernel's client, in ``cgroup`` if given; the kernel is killed (and its pid
        namespace waited for) on leaving."""
        self.kernels += 1
        channel = self.channel_root / f"ipc-{self.kernels}"
        channel.mkdir()
        kernel = self.server.start(str(self.kernels), "attn", channel, cgroup.procs_files() if cgroup else [])
        client = kernel.client()
        client.start_channels()
        try:
            _wait_until_ready(kernel, client)
            yield client
        finally:
            client.stop_channels()
            kernel.kill()


def _wait_until_ready(kernel, client, seconds: float = 60) -> None:
    """Wait for the kernel's reply to kernel_info on the shell channel and for a message on IOPub
    (which tells that IOPub is connected too); not ``wait_for_ready``, whose heartbeat check
    takes a kernel that is still waiting for the fork server's imports for a dead one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and kernel.is_alive():
        client.kernel_info()
        with contextlib.suppress(queue.Empty):
            if client.get_shell_msg(timeout=1)["msg_type"] == "kernel_info_reply":
                client.get_iopub_msg(timeout=0.2)  # none until IOPub is connected: ask again
                return
    raise RuntimeError("the kernel did not start")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    opened = Batch(tmp_path_factory.mktemp("attacks"))
    yield opened
    opened.close()


@pytest.fixture
def cgroup():
    with Cgroup(memory_mb=1024, processes=128) as made:
        if made.mode == "rlimit":
            pytest.skip("no cgroup can be written here: limits are per process")
        yield made


def attack(client, code: str) -> dict:
    """Run ``code`` in the kernel; it prints one JSON object last, which is returned."""
    printed = Sandbox.run(client, textwrap.dedent(code))
    return json.loads(printed.strip().splitlines()[-1])


def refused_a_namespace(seen: dict) -> bool:
    """Whether a :func:`nested` attack was stopped at its first step: the kernel may make no
    user namespace of its own (its seccomp filter), so it never holds a capability."""
    if "unshare" not in seen:
        return False
    assert seen["unshare"] == os.strerror(1), seen  # EPERM, from the filter
    return True


# Helpers for learner code run in a child of the kernel (see :func:`nested`, :func:`direct`).
HELPERS = r'''
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def outcome(result):
    return "ok" if result == 0 else os.strerror(ctypes.get_errno())

def mount(source, target, kind, flags=0, data=None):
    encode = lambda text: None if text is None else text.encode()
    return outcome(libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)))

def mount_cgroups():
    """Mount every cgroup hierarchy this process is in (rooted at its own cgroup there)."""
    roots = []
    for line in open("/proc/self/cgroup").read().splitlines():
        number, controllers, _ = line.split(":", 2)
        root = f"/tmp/cgroup-{number}"
        os.mkdir(root)
        if not controllers:
            done = mount("none", root, "cgroup2")
        else:
            done = mount("cgroup", root, "cgroup", 0, ("none," if controllers.startswith("name=") else "") + controllers)
        if done == "ok":
            roots.append(root)
    return roots
'''
# Then the child makes a user namespace of its own (where it would hold every capability) with
# its own mount and cgroup namespaces, and a fresh /tmp.
NESTED = HELPERS + r'''
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x00020000 | 0x02000000) != 0:  # user, mount, cgroup
    print(json.dumps({"unshare": outcome(-1)}))
    sys.exit()
for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
    with open(f"/proc/self/{name}", "w") as file:
        file.write(text)
mount("tmpfs", "/tmp", "tmpfs")
'''


def nested(body: str, prelude: str = NESTED) -> str:
    """Kernel code that runs ``body`` after ``prelude`` in a child process and prints its output."""
    script = prelude + textwrap.dedent(body)
    return ("import subprocess, sys\n"
            f"run = subprocess.run([sys.executable, '-c', {script!r}], capture_output=True, text=True, timeout=30)\n"
            "print(run.stdout + run.stderr)\n")


def direct(body: str) -> str:
    """:func:`nested` without the nested namespaces: the child has what the kernel has."""
    return nested(body, HELPERS)


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _descendants(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    return found


def fork_server_pid(batch: Batch) -> int:
    """The host's pid of the fork server (bubblewrap runs the sandbox's init, which runs it)."""
    return children(children(batch.process.pid)[0])[0]


def test_no_file_of_another_process_of_the_sandbox_can_be_opened(batch):
    """/proc shows the fork server, the holders and the next kernel, but the links and files that
    lead into their file systems, memory or open files are closed to the kernel."""
    with batch.opened(), batch.opened() as client:  # the first kernel stands for the next exercise's
        seen = attack(client, """
            import json, os
            own = os.readlink("/proc/self")
            opened, others = {}, [pid for pid in os.listdir("/proc") if pid.isdigit() and pid != own]
            for pid in others:
                paths = [f"/proc/{pid}/{name}" for name in ("root/grader", "cwd", "environ", "mem", "map_files",
                                                            "fdinfo", "maps", "auxv", "stack", "io", "syscall")]
                try:
                    paths += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd")]
                except OSError:
                    pass
                for path in paths:
                    try:
                        opened[path] = os.listdir(path) if os.path.isdir(path) else len(open(path, "rb").read(64))
                    except OSError:
                        pass
                for name in ("root", "cwd", "ns/mnt", "ns/user", "exe"):
                    try:
                        opened[f"/proc/{pid}/{name}"] = os.readlink(f"/proc/{pid}/{name}")
                    except OSError:
                        pass
            print(json.dumps({"others": len(others), "opened": opened}))
        """)
    assert seen["others"] >= 5  # bubblewrap's init, the fork server, two holders and the other kernel
    assert seen["opened"] == {}, seen


def test_a_nested_user_namespace_uncovers_no_hidden_view(batch):
    """With every capability in a user namespace of its own, learner code cannot take away,
    move, clone or re-mount what hides /grader (the other views, the fork server's folders)."""
    with batch.opened() as client:
        seen = attack(client, nested(r"""
            MS_BIND, MS_REC, MS_REMOUNT, MS_MOVE, MS_PRIVATE = 4096, 16384, 32, 8192, 1 << 18
            os.makedirs("/tmp/seen")
            tries = {"private": mount(None, "/", None, MS_REC | MS_PRIVATE),
                     "umount /grader": outcome(libc.umount2(b"/grader", 2)),
                     "umount own view": outcome(libc.umount2(os.path.dirname(__import__("attn").__file__).encode(), 2)),
                     "move /grader": mount("/grader", "/tmp/seen", None, MS_MOVE),
                     "bind / alone": mount("/", "/tmp/seen", None, MS_BIND),
                     "remount / writable": mount(None, "/", None, MS_BIND | MS_REMOUNT),
                     "remount /grader writable": mount(None, "/grader", None, MS_BIND | MS_REMOUNT | 2 | 4),
                     "proc": mount("proc", "/tmp/seen", "proc")}
            alone = libc.syscall(428, -100, b"/", 1)  # open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE): / without its mounts
            tries["open_tree /"] = "ok" if alone >= 0 else outcome(-1)
            tree = libc.syscall(428, -100, b"/", 1 | 0x8000)  # ... | AT_RECURSIVE: a copy of the whole tree
            if tree >= 0 and libc.syscall(429, tree, b"", -100, b"/tmp/seen", 4) == 0:  # move_mount(F_EMPTY_PATH)
                tries["umount the copy's /grader"] = outcome(libc.umount2(b"/tmp/seen/grader", 2))
            found = []
            for top in ("/grader", "/tmp/seen/grader", f"/proc/self/fd/{alone}/grader"):
                for folder, _, files in os.walk(top):
                    found += [os.path.join(folder, name) for name in files
                              if ANSWER in open(os.path.join(folder, name), errors="replace").read()]
            print(json.dumps({"done": [name for name, result in tries.items() if result == "ok"],
                              "found": found, "grader": sorted(os.listdir("/grader"))}))
        """.replace("ANSWER", repr(ANSWER))))
    if refused_a_namespace(seen):
        return
    assert seen["found"] == [] and seen["grader"] == ["channel"], seen
    assert set(seen["done"]) <= {"private"}, seen  # making its own copies private is all it may do


def test_no_process_of_the_sandbox_can_be_signalled_through_proc(batch):
    """pidfd_send_signal accepts a /proc/<pid> folder for the process: not one outside the
    kernel's own pid namespace (the fork server, the holders, another kernel)."""
    with batch.opened(), batch.opened() as client:
        seen = attack(client, """
            import ctypes, json, os
            libc = ctypes.CDLL(None, use_errno=True)
            own = os.readlink("/proc/self")
            reached = []
            for pid in (pid for pid in os.listdir("/proc") if pid.isdigit() and pid != own):
                folder = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY)
                if libc.syscall(424, folder, 0, None, 0) == 0:  # pidfd_send_signal(folder, 0): may it signal?
                    reached.append(pid)
                if libc.syscall(438, folder, 0, 0) >= 0:  # pidfd_getfd(folder, 0): its standard input
                    reached.append(pid + " fd 0")
                os.close(folder)
            print(json.dumps({"reached": reached, "tried": len(os.listdir("/proc"))}))
        """)
    assert seen["reached"] == [], seen


@pytest.mark.xfail(ROOT_IS_HOSTS, strict=True, reason=(
    "the sandbox's uid is the grader's (root): a non-dumpable task's /proc files belong to root, so a kernel "
    "may write the fork server's and the next kernel's oom_score_adj (and coredump_filter)"))
def test_no_other_process_of_the_sandbox_can_be_made_the_oom_killers_victim(batch):
    with batch.opened(), batch.opened() as client:
        seen = attack(client, """
            import json, os
            own = os.readlink("/proc/self")
            written = []
            for pid in (pid for pid in os.listdir("/proc") if pid.isdigit() and pid != own):
                for name, value in (("oom_score_adj", "1000"), ("coredump_filter", "0x3f")):
                    try:
                        with open(f"/proc/{pid}/{name}", "w") as file:
                            file.write(value)
                        written.append(f"{pid}/{name}")
                    except OSError:
                        pass
            print(json.dumps(written))
        """)
    assert Path(f"/proc/{fork_server_pid(batch)}/oom_score_adj").read_text().strip() != "1000"
    assert seen == [], seen


def test_a_kernel_cannot_raise_its_submissions_limits(batch, cgroup):
    limits = [folder / name for folder in cgroup.folders
              for name in ("memory.max", "memory.limit_in_bytes", "pids.max") if (folder / name).exists()]
    before = [path.read_text() for path in limits]
    with batch.opened(cgroup) as client:
        seen = attack(client, nested("""
            written = []
            for root in mount_cgroups():
                for name, value in (("memory.max", "max"), ("memory.limit_in_bytes", "-1"), ("pids.max", "max")):
                    try:
                        with open(os.path.join(root, name), "w") as file:
                            file.write(value)
                        written.append(name)
                    except OSError:
                        pass
            print(json.dumps(written))
        """))
    assert [path.read_text() for path in limits] == before, seen


def _remove_cgroups_named(name: str, folders: list[Path]) -> None:
    """Remove, from the host, the cgroup folders ``name`` that a kernel may have made in any
    hierarchy at its own cgroup (the submission's ``folders``, or the grader's where it was not moved)."""
    own = [line.split(":", 2)[2].lstrip("/") for line in Path("/proc/self/cgroup").read_text().splitlines()]
    mounts = [Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").iterdir()]
    for folder in [*folders, *(mount / path for mount in mounts for path in own)]:
        with contextlib.suppress(OSError):
            (folder / name).rmdir()


def test_a_kernel_leaves_no_cgroup_behind(batch, cgroup):
    name = f"left-behind-{ANSWER}"
    try:
        with batch.opened(cgroup) as first:
            made = attack(first, nested(f"""
                made = []
                for root in mount_cgroups():
                    try:
                        os.mkdir(os.path.join(root, {name!r}))
                        made.append(root)
                    except OSError:
                        pass
                print(json.dumps(made))
            """))
        with batch.opened(cgroup) as second:
            found = attack(second, nested(f"""
                print(json.dumps([root for root in mount_cgroups() if os.path.isdir(os.path.join(root, {name!r}))]))
            """))
        assert made == [] or refused_a_namespace(made), made
        assert found == [] or refused_a_namespace(found), found
    finally:
        folders = list(cgroup.folders)
        cgroup.__exit__(None, None, None)  # as the grader removes it after the run
        left = [str(folder) for folder in folders if folder.exists()]
        _remove_cgroups_named(name, folders)
        cgroup.folders = [folder for folder in folders if folder.exists()]
        cgroup.__exit__(None, None, None)
    assert left == [], left


KEYCTL_GET_KEYRING_ID, KEYCTL_SETPERM, KEYCTL_LINK, KEYCTL_READ, KEYCTL_INVALIDATE = 0, 5, 8, 11, 21
KEY_SPEC_USER_KEYRING = -4


def _keyctl(*args: int) -> int:
    return ctypes.CDLL(None, use_errno=True).syscall(250, *args)


def test_a_kernel_leaves_no_key_behind(batch):
    # The grader's user keyring: a login session (pam_keyinit) has one; made here where there is none yet.
    _keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1)
    name = f"left-behind-{ANSWER}"
    try:
        with batch.opened() as first:
            linked = attack(first, f"""
                import ctypes, json
                libc = ctypes.CDLL(None, use_errno=True)
                key = libc.syscall(248, b"user", {name.encode()!r}, {ANSWER.encode()!r}, {len(ANSWER)}, -3)
                libc.syscall(250, {KEYCTL_SETPERM}, key, 0x3f3f3f3f)  # anyone may read it
                linked = []
                for line in open("/proc/keys"):  # every key ring it may see
                    serial, *_, kind, description = line.split(None, 8)
                    if kind == "keyring" and libc.syscall(250, {KEYCTL_LINK}, key, int(serial, 16)) == 0:
                        linked.append(description.split(":")[0])
                print(json.dumps(linked))
            """)
        with batch.opened() as second:
            found = attack(second, f"""
                import ctypes, json
                libc = ctypes.CDLL(None, use_errno=True)
                found = []
                for line in open("/proc/keys"):
                    if {name!r} in line:
                        payload = ctypes.create_string_buffer(64)
                        size = libc.syscall(250, {KEYCTL_READ}, int(line.split()[0], 16), payload, 64)
                        found.append(payload.raw[:max(size, 0)].decode())
                print(json.dumps(found))
            """)
    finally:
        for line in Path("/proc/keys").read_text().splitlines():
            if name in line:
                _keyctl(KEYCTL_INVALIDATE, int(line.split()[0], 16))
    assert ANSWER not in found, (linked, found)


def test_no_process_outlives_its_kernel(batch):
    """Processes that ignore SIGTERM and SIGHUP, with no parent-death signal, each in a session
    of its own: a daemon (double fork), a child let go, and the first process of a nested pid
    namespace; all end with the kernel that started them."""
    comm = f"ling-{ANSWER[:8]}"
    with batch.opened() as client:
        started = attack(client, direct(f"""
            import signal, subprocess
            linger = ("import ctypes, os, signal, time; libc = ctypes.CDLL(None); libc.prctl(15, {comm.encode()!r}); "
                      "libc.prctl(1, 0); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                      "signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(600)")
            quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            daemon = ("import os, subprocess, sys; os.setsid(); "
                      f"os.fork() or subprocess.Popen([sys.executable, '-c', {{linger!r}}], start_new_session=True)")
            subprocess.run([sys.executable, "-c", daemon], **quiet)  # a daemon, its parent gone
            subprocess.Popen([sys.executable, "-c", linger], start_new_session=True, **quiet)  # a child let go
            expected = 2
            if libc.unshare(0x20000000) == 0:  # a pid namespace of its own (refused: the kernel's filter)
                subprocess.Popen([sys.executable, "-c", linger], start_new_session=True, **quiet)
                expected = 3
            import time
            for _ in range(100):  # until all have named themselves
                running = sum(open(f"/proc/{{p}}/comm").read().strip() == {comm!r}
                              for p in os.listdir("/proc") if p.isdigit())
                if running == expected:
                    break
                time.sleep(0.1)
            print(json.dumps([running, expected]))
        """))
        assert started[0] == started[1] >= 2  # all were running when the kernel was killed
        Sandbox.run(client, "ballast = bytearray(2**30); ballast[::4096] = b'x' * (2**30 // 4096)")  # a slow exit
    left = []
    for pid in _descendants(batch.process.pid):  # at once: the sandbox's processes, not the whole host's
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                status = Path(f"/proc/{pid}/status").read_text()
                left.append(f"{pid}: {status.split('State:')[1].split()[0]}, signals pending {status.split('ShdPnd:')[1].split()[0]}")
    assert left == []


def test_no_privilege_comes_back(batch):
    """No capability after exec (not even through a set-user-id program), no_new_privs kept,
    no way to become another user or join groups, no pseudo-terminal."""
    with batch.opened() as client:
        seen = attack(client, """
            import json, os, subprocess
            status = dict(line.split(":\\t") for line in
                          subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout.splitlines()
                          if ":\\t" in line)
            mounted = subprocess.run(["mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True).returncode
            def write(path, text):
                with open(path, "w") as file:
                    file.write(text)
            done = {}
            for name, act in [("setuid", lambda: os.setuid(0)), ("setgroups", lambda: os.setgroups([0])),
                              ("allow setgroups", lambda: write("/proc/self/setgroups", "allow")),
                              ("uid_map", lambda: write("/proc/self/uid_map", "0 0 1")),
                              ("ptmx", lambda: os.open("/dev/ptmx", os.O_RDWR)), ("openpty", os.openpty)]:
                try:
                    act()
                    done[name] = True
                except OSError:
                    done[name] = False
            print(json.dumps({"caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
                              "no_new_privs": status["NoNewPrivs"].strip(), "mount": mounted, "done": done}))
        """)
    assert set(seen["caps"]) == {"0000000000000000"} and seen["no_new_privs"] == "1", seen
    assert seen["mount"] != 0 and not any(seen["done"].values()), seen


def test_a_kernel_cannot_fill_the_hosts_disk(batch):
    limit = 512 * 2**20  # what each of the kernel's own tmpfs folders may hold
    with batch.opened() as client:
        channel = str(batch.channel_root / f"ipc-{batch.kernels}")  # the same path in the sandbox
        written = attack(client, f"""
            import json, os
            written = 0
            for number in range(3):  # fallocate: the blocks are the disk's at once, without writing them
                try:
                    file = os.open({channel!r} + f"/ballast-{{number}}", os.O_CREAT | os.O_WRONLY)
                    os.posix_fallocate(file, 0, {limit // 2})
                    os.close(file)
                    written += {limit // 2}
                except OSError:
                    break
            print(json.dumps(written))
        """)
        for ballast in Path(channel).glob("ballast-*"):
            ballast.unlink()
    assert written <= limit



def test_no_sysctl_of_the_host_can_be_written(batch):
    """Each sysctl is written its own value back (harmless if a write goes through)."""
    with batch.opened() as client:
        written = attack(client, """
            import json
            written = []
            for path in ["/proc/sys/kernel/core_pattern", "/proc/sys/vm/overcommit_memory"]:
                try:
                    value = open(path).read()
                    with open(path, "w") as file:
                        file.write(value)
                    written.append(path)
                except OSError:
                    pass
            print(json.dumps(written))
        """)
    assert written == []


def test_no_cpu_setting_sysrq_or_release_agent_can_be_written(batch):
    """Neither the host's CPU settings nor its magic SysRq key nor, with every capability in a
    nested user and cgroup namespace, a cgroup hierarchy's release agent (a program the host
    runs as root). Each file is written its own value back (harmless if a write went through)."""
    probe = """
            import glob
            paths = [*glob.glob("/sys/devices/system/cpu/cpu*/online")[:1],
                     *(path for root in mount_cgroups() for path in glob.glob(f"{root}/release_agent"))]
            written = []
            for path in paths:
                try:
                    value = open(path).read()
                    with open(path, "w") as file:
                        file.write(value or "\\n")
                    written.append(path)
                except OSError:
                    pass
            try:
                os.close(os.open("/proc/sysrq-trigger", os.O_WRONLY))  # opened only: a byte would act
                written.append("/proc/sysrq-trigger")
            except OSError:
                pass
            print(json.dumps({"tried": len(paths), "written": written}))
        """
    with batch.opened() as client:
        as_it_is, nested_seen = attack(client, direct(probe)), attack(client, nested(probe))
    assert as_it_is["tried"] >= 1 and as_it_is["written"] == [], as_it_is
    assert refused_a_namespace(nested_seen) or nested_seen["written"] == [], nested_seen
