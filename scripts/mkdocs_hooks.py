"""mkdocs hooks (mkdocs.yml): the site is built from the same Markdown that GitHub renders.

README.md is the site's home page (index.md), README.ko.md the Korean one (ko/index.md) and BENCHMARKS.md a page
(benchmarks.md), so nothing is copied into docs/. Every page links as it must on GitHub (the READMEs to
``docs/…``, the pages to ``../README.md``); here each relative link is read against the file's place in the
repository and rewritten to that file's place on the site. A link to a file that is on neither is left as it is,
and ``mkdocs build --strict`` then fails on it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
FROM_ROOT = {"README.md": "index.md", "README.ko.md": "ko/index.md", "BENCHMARKS.md": "benchmarks.md"}
LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def on_files(files, config):
    for source, page in FROM_ROOT.items():
        files.append(File.generated(config, page, content=(ROOT / source).read_text(encoding="utf-8")))
    return files


def _in_repo(site_path: str) -> str:
    """Where the page at ``site_path`` lives in the repository."""
    return {page: source for source, page in FROM_ROOT.items()}.get(site_path, "docs/" + site_path)


def _on_site(repo_path: str) -> str | None:
    if repo_path in FROM_ROOT:
        return FROM_ROOT[repo_path]
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    return None


def on_page_markdown(markdown, page, config, files):
    here = page.file.src_uri
    folder = posixpath.dirname(_in_repo(here))

    def rewrite(match):
        target = match.group(2)
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        site = _on_site(posixpath.normpath(posixpath.join(folder, target)))
        if site is None:
            return match.group(0)
        relative = posixpath.relpath(site, posixpath.dirname(here) or ".")
        return f"{match.group(1)}{relative}{match.group(3) or ''}{match.group(4)}"

    return LINK.sub(rewrite, markdown)
