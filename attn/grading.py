"""The autograder's helpers inside the learner's kernel: start it with its limits, report a
check's result, undo patching between exercises that share a kernel.

Nothing here decides a grade: the kernel only displays results, and the grader compares
them with the golden outputs in its own process.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from types import FunctionType, ModuleType
from typing import Any, Callable, Mapping

from attn.payload import MAX_MESSAGE, call_quietly

CHECK_MIME = "application/vnd.attn-course.check+json"


def reporter(token: str) -> Callable[..., None]:
    """The ``_check`` of one check cell: call a function, display the payload of its result.

    The payload carries the cell's ``token``, so that the grader counts only what this cell's
    own call displayed, never output that a thread of an earlier exercise sends meanwhile.
    """
    from IPython.display import display

    def report(function: Callable, *args: Any, **kwargs: Any) -> None:
        display({CHECK_MIME: {**call_quietly(function, *args, **kwargs), "token": token}}, raw=True)

    return report


def start_kernel(connection_file: str, memory_bytes: int, processes: int) -> None:
    """Run an IPython kernel for the grader, limited before any learner code runs.

    Limits: the data segment (an attempt to allocate more fails with MemoryError instead of
    exhausting the machine), the size of a file it writes, no core dumps and, where no cgroup
    counts them (``processes`` > 0), its processes. An error's message and traceback are cut
    before they are sent, so a 200 MB exception message never reaches the grader.
    """
    import resource

    from ipykernel.kernelapp import launch_new_instance
    from ipykernel.zmqshell import ZMQInteractiveShell

    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**28, 2**28))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    send_error = ZMQInteractiveShell._showtraceback

    def send_short_error(shell: Any, etype: type, evalue: BaseException, stb: list[str]) -> None:
        message = str.__str__(str(evalue))[:MAX_MESSAGE] if isinstance(evalue, BaseException) else ""
        send_error(shell, etype, message, [line[:MAX_MESSAGE] for line in stb[-20:]])

    ZMQInteractiveShell._showtraceback = send_short_error
    sys.argv = ["grader-kernel", "-f", connection_file, "--HistoryManager.hist_file=:memory:"]  # no sqlite file
    launch_new_instance()


class CourseCodeUsed(Exception):
    """An exercise ran the course package's own implementation of that exercise (the sandbox
    shows each exercise a copy of the package where those are stubs that raise this)."""


class ModuleState:
    """What each exercise starts from, to undo whatever an earlier exercise changed.

    One exercise that replaces ``np.exp``, ``builtins.print`` or ``torch.Tensor.softmax``,
    swaps a helper's ``__code__``, or calls ``torch.set_default_dtype`` must not change how the
    next exercise is graded: :meth:`restore` puts back

    - every module attribute that was changed or deleted (attributes a module gained since
      the snapshot stay: a package gains submodules as they are imported);
    - every attribute of the classes those modules define (one a class gained is removed
      when it hides an inherited attribute: ``torch.Tensor.softmax`` comes from
      ``torch._C.TensorBase``); immutable types (``int``, ``numpy.ndarray``) cannot be patched;
    - the code, defaults and keyword defaults of every function in those modules and classes;
    - the names the grader's own cells defined in ``__main__`` (the check helpers), leaving the
      learner's names alone;
    - global settings: PyTorch's default dtype, grad and anomaly mode, threads, deterministic
      algorithms, matmul precision and print options; NumPy's error and print options; the
      random generators of ``random``, NumPy and PyTorch; warning filters, environment
      variables, the working directory and the recursion limit.
    """

    def __init__(self) -> None:
        modules = [(name, module) for name, module in list(sys.modules.items())
                   if isinstance(module, ModuleType) and name != "__main__"]
        self.modules: dict[str, tuple[ModuleType, dict[str, Any]]] = {
            name: (module, dict(vars(module))) for name, module in modules
        }
        self.classes: dict[int, tuple[type, dict[str, Any]]] = {}  # by id: a metaclass may redefine ==
        for _, attributes in self.modules.values():
            for value in attributes.values():
                # type(value), not isinstance: isinstance may call a module attribute's __class__
                if issubclass(type(value), type) and not value.__flags__ & _IMMUTABLE_TYPE:
                    self.classes.setdefault(id(value), (value, dict(vars(value))))
        main = sys.modules["__main__"]
        self.main = dict(vars(main))
        self.functions = _function_state([*self.main.values(), *_course_functions(self.modules)])
        self.settings = _global_settings()

    def restore(self) -> None:
        for name, (module, attributes) in self.modules.items():
            sys.modules[name] = module
            for key in _changed(vars(module), attributes):
                vars(module)[key] = attributes[key]
        for cls, attributes in self.classes.values():
            # type.__setattr__, not setattr: a metaclass (an Enum's) may refuse assignments
            for key in _changed(vars(cls), attributes):
                type.__setattr__(cls, key, attributes[key])
            for key in vars(cls).keys() - attributes.keys():
                if any(key in vars(base) for base in cls.__mro__[1:]):
                    type.__delattr__(cls, key)
        vars(sys.modules["__main__"]).update(self.main)
        for function, (code, defaults, kwdefaults) in self.functions:
            function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
        _set_global_settings(self.settings)


def _changed(current: Mapping[str, Any], saved: dict[str, Any]) -> list[str]:
    """The keys whose saved value ``current`` no longer holds (changed or deleted)."""
    return [key for key, value in saved.items() if current.get(key, _MISSING) is not value]


def _course_functions(modules: dict[str, tuple[ModuleType, dict[str, Any]]]) -> list[Any]:
    """The functions of the course package and of IPython's display: the code that makes payloads."""
    found = []
    for name, (_, attributes) in modules.items():
        if name.split(".")[0] in ("attn", "IPython"):
            for value in attributes.values():
                found.append(value)
                if isinstance(value, type):
                    found += list(vars(value).values())
    return found


def _function_state(values: list[Any]) -> list[tuple[FunctionType, tuple]]:
    functions = {id(v): v for v in values if isinstance(v, FunctionType)}
    return [(f, (f.__code__, f.__defaults__, f.__kwdefaults__)) for f in functions.values()]


def _global_settings() -> dict[str, Any]:
    import numpy as np

    settings: dict[str, Any] = {
        "numpy_errors": np.geterr(), "numpy_print": np.get_printoptions(),
        "numpy_random": np.random.get_state(), "random": random.getstate(),
        "warnings": list(warnings.filters), "environ": dict(os.environ), "cwd": os.getcwd(),
        "recursion": sys.getrecursionlimit(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        from torch._tensor_str import PRINT_OPTS

        settings["torch"] = {
            "dtype": torch.get_default_dtype(), "grad": torch.is_grad_enabled(),
            "anomaly": torch.is_anomaly_enabled(), "threads": torch.get_num_threads(),
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "deterministic_warn": torch.is_deterministic_algorithms_warn_only_enabled(),
            "matmul": torch.get_float32_matmul_precision(), "rng": torch.get_rng_state(),
            "print": dict(vars(PRINT_OPTS)),
        }
    return settings


def _set_global_settings(settings: dict[str, Any]) -> None:
    import numpy as np

    np.seterr(**settings["numpy_errors"])
    np.set_printoptions(**settings["numpy_print"])
    np.random.set_state(settings["numpy_random"])
    random.setstate(settings["random"])
    warnings.filters[:] = settings["warnings"]
    os.environ.clear()
    os.environ.update(settings["environ"])
    os.chdir(settings["cwd"])
    sys.setrecursionlimit(settings["recursion"])
    saved = settings.get("torch")
    if saved is None:
        return
    import torch
    from torch._tensor_str import PRINT_OPTS

    torch.set_default_dtype(saved["dtype"])
    torch.set_grad_enabled(saved["grad"])
    torch.set_anomaly_enabled(saved["anomaly"])
    torch.set_num_threads(saved["threads"])
    torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["deterministic_warn"])
    torch.set_float32_matmul_precision(saved["matmul"])
    torch.set_rng_state(saved["rng"])
    vars(PRINT_OPTS).update(saved["print"])


_MISSING = object()
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: a static type such as int or numpy.ndarray
