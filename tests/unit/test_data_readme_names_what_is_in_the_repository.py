"""data/README.md names files of the repository, never a path outside it."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"
README = (DATA / "README.md").read_text()


def test_the_data_readme_names_no_absolute_path() -> None:
    assert not re.search(r"`/[\w.-]+/", README)
    assert "/work/" not in README


def test_every_file_the_data_readme_links_to_is_in_the_repository() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert links
    for link in links:
        assert (DATA / link).resolve().is_file(), link


def test_every_file_the_data_readme_names_in_backquotes_is_in_the_repository() -> None:
    for name in re.findall(r"`([\w./-]+\.(?:md|yaml))`", README):
        assert (DATA / name).is_file() or (DATA.parent / name).is_file(), name
