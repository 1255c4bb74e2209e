"""Sphinx extension: serve MathJax 3 from the site itself, so math renders without a network.

MathJax comes from the PyPI package ``django-static-mathjax`` (the MathJax 3 release files);
only the TeX-to-HTML bundle and its fonts are copied into ``_static/mathjax/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mathjax
from sphinx.application import Sphinx

SOURCE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
BUNDLE = "tex-chtml.js"
FONTS = Path("output") / "chtml" / "fonts" / "woff-v2"


def use_local_mathjax(app: Sphinx, config: object) -> None:
    config.mathjax_path = f"mathjax/{BUNDLE}"  # relative to _static/


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SOURCE / BUNDLE, target / BUNDLE)
    shutil.copytree(SOURCE / FONTS, target / FONTS, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
