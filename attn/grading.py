"""The autograder's helpers inside the learner's kernel: report a check's result, undo patching.

Nothing here decides a grade: the kernel only displays results, and the grader compares
them with the golden outputs in its own process.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any, Callable

from attn.payload import call_quietly

CHECK_MIME = "application/vnd.attn-course.check+json"


def report(function: Callable, *args: Any, **kwargs: Any) -> None:
    """Call ``function`` and display the payload of its result as a grader check output."""
    from IPython.display import display

    display({CHECK_MIME: call_quietly(function, *args, **kwargs)}, raw=True)


class ModuleState:
    """The attributes of every loaded module (the notebook's own namespace aside), to undo patching.

    One exercise that replaces ``np.exp`` or ``builtins.print`` must not change how the next
    exercise is graded: :meth:`restore` puts back every attribute that was changed or deleted.
    Attributes added since the snapshot stay (a package gains submodules as they are imported).
    """

    def __init__(self) -> None:
        self.saved: dict[str, tuple[ModuleType, dict[str, Any]]] = {
            name: (module, dict(vars(module)))
            for name, module in list(sys.modules.items())
            if isinstance(module, ModuleType) and name != "__main__"
        }

    def restore(self) -> None:
        for name, (module, attributes) in self.saved.items():
            sys.modules[name] = module
            current = vars(module)
            for key, value in attributes.items():
                if current.get(key, _MISSING) is not value:
                    current[key] = value


_MISSING = object()
