"""The repository and launch buttons follow the one setting `repository: url` in _config.yml:
a real repository turns them on, an empty URL, a placeholder or Jupyter Book's own default
repository leaves the site without them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from repository_buttons import buttons_only_with_a_repository, is_real_repository

LAUNCH = {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org"}


def theme_options(url: str) -> dict:
    config = SimpleNamespace(html_theme_options={"repository_url": url, "use_repository_button": False,
                                                 "launch_buttons": dict(LAUNCH)})
    buttons_only_with_a_repository(None, config)
    return config.html_theme_options


def test_a_real_repository_gets_its_button_and_the_launch_buttons():
    options = theme_options("https://github.com/attention-course/attention")
    assert options["use_repository_button"] and options["launch_buttons"] == LAUNCH


@pytest.mark.parametrize("url", ["", "https://github.com/YOUR-GITHUB-ORG/attention-course",
                                 "https://github.com/executablebooks/jupyter-book",
                                 "https://hub.example.org/course/attention", "not a url"])
def test_without_a_real_repository_there_are_no_buttons(url):
    options = theme_options(url)
    assert not is_real_repository(url)
    assert options["repository_url"] == "" and not options["use_repository_button"]
    assert options["launch_buttons"] == {}
