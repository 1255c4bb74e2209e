"""Sphinx extension: the repository button and the launch buttons appear only when the
instructor has set a real repository in ``_config.yml`` (``repository: url``).

Without one (an empty URL, a placeholder such as ``YOUR-ORG``, or Jupyter Book's own
default repository, which it fills in when the setting is missing) the theme gets no
repository URL and no launch providers, so no page links to a repository that does not
exist. The JupyterLab page says how to work locally either way.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
REAL_REPOSITORY = re.compile(r"https://(github\.com|gitlab\.com)/[\w.-]+/[\w.-]+/?")
NOT_THIS_COURSE = re.compile(r"your-|example|placeholder|executablebooks/jupyter-book", re.I)


def is_real_repository(url: str) -> bool:
    """Whether ``url`` names an actual repository rather than a placeholder or a default."""
    return bool(REAL_REPOSITORY.fullmatch(url or "")) and not NOT_THIS_COURSE.search(url)


def buttons_only_with_a_repository(app: Sphinx, config: object) -> None:
    """``config-inited`` handler: the repository button with a real repository; without one,
    no repository or launch buttons."""
    options = config.html_theme_options
    if is_real_repository(options.get("repository_url", "")):
        options["use_repository_button"] = True  # Jupyter Book refuses `true` without a URL
        return
    if options.get("repository_url"):
        LOGGER.info(f"repository {options['repository_url']!r} is not a real repository: "
                    "the site gets no repository or launch buttons")
    options.update(repository_url="", use_repository_button=False, use_issues_button=False,
                   use_edit_page_button=False, launch_buttons={})


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", buttons_only_with_a_repository)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
