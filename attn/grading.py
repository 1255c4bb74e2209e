"""The autograder's helpers inside the learner's kernel: report a check's result, undo patching.

Nothing here decides a grade: the kernel only displays results, and the grader compares
them with the golden outputs in its own process.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any, Callable, Mapping

from attn.payload import call_quietly

CHECK_MIME = "application/vnd.attn-course.check+json"


def report(function: Callable, *args: Any, **kwargs: Any) -> None:
    """Call ``function`` and display the payload of its result as a grader check output."""
    from IPython.display import display

    display({CHECK_MIME: call_quietly(function, *args, **kwargs)}, raw=True)


class ModuleState:
    """The attributes of every loaded module and of the classes they define, to undo patching.

    One exercise that replaces ``np.exp``, ``builtins.print`` or ``torch.Tensor.softmax`` must
    not change how the next exercise is graded: :meth:`restore` puts back every attribute that
    was changed or deleted. Attributes a module gained since the snapshot stay (a package gains
    submodules as they are imported); one a class gained is removed when it hides an inherited
    attribute (``torch.Tensor.softmax`` is inherited from ``torch._C.TensorBase``). The
    notebook's own namespace, ``__main__``, is left alone. Immutable types (``int``,
    ``numpy.ndarray``) cannot be patched, so they are not recorded.
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


def _changed(current: Mapping[str, Any], saved: dict[str, Any]) -> list[str]:
    """The keys whose saved value ``current`` no longer holds (changed or deleted)."""
    return [key for key, value in saved.items() if current.get(key, _MISSING) is not value]


_MISSING = object()
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: a static type such as int or numpy.ndarray
