"""Sphinx extension: pages load without errors in the browser's console.

- Jupyter Book 1 registers some inline scripts twice (sphinx-thebe's ``const THEBE_JS_URL``,
  which then throws "has already been declared"); every script is kept once, in its first place.
- With no colour mode set, the theme logs "Got invalid theme mode" on a reader's first visit;
  the theme's template reads ``default_mode``, which no theme option sets, so it is set here:
  light, as the figures are drawn on white.
- The favicon, without which browsers log a 404 for ``/favicon.ico``, is set in ``_config.yml``.
- One search field: the PyData theme underneath adds its own to a header bar
  (``navbar_persistent``), above the one in the sidebar; the header's is left out.
- Code that fits: ``static/code_width.css`` sizes the code font so that a code cell holds
  88 characters (the limit of tests/test_code_width.py) in narrower windows too.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "static"


def clean_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """``html-page-context`` handler: a light colour mode, and each script once, in its first place."""
    context["default_mode"] = "light"
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, *sorted(script.attributes.items()))  # inline: None or ""
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def one_search_field(app: Sphinx, config: object) -> None:
    """``config-inited`` handler: no second search field in the header bar."""
    config.html_theme_options["navbar_persistent"] = []


def code_that_fits(app: Sphinx, config: object) -> None:
    """``config-inited`` handler: serve static/code_width.css with the site."""
    config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", one_search_field)
    app.connect("config-inited", code_that_fits)
    app.add_css_file("code_width.css")
    app.connect("html-page-context", clean_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
