"""The documentation site: `mkdocs build --strict` over mkdocs.yml (README.md, README.ko.md and docs/), so a
broken link, a missing anchor or a page left out of the navigation fails `make test`."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=root, capture_output=True, text=True, timeout=120)


def test_the_site_builds_strictly_from_the_readmes_and_docs(tmp_path):
    done = build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    home, korean = (site / "index.html").read_text(), (site / "ko" / "index.html").read_text()
    assert "A ten-line tour" in home and "열 줄 둘러보기" in korean  # the READMEs are the home pages
    # their links to docs/… and to each other point at the site's pages, and the pictures are there
    assert 'href="install/"' in home and 'href="ko/"' in home and 'src="quote-vertical.png"' in home
    assert 'href="../install/"' in korean and 'href="../"' in korean and 'src="../quote-vertical.png"' in korean
    assert (site / "quote-vertical.png").is_file() and (site / "benchmarks" / "index.html").is_file()
    assert not (site / "notes").exists()  # drafts in docs/notes/ are not published


def test_a_broken_link_fails_the_build(tmp_path):
    # The same sources, with one link to a page that does not exist: --strict must refuse them.
    copy = tmp_path / "repo"
    for name in ("mkdocs.yml", "README.md", "README.ko.md", "BENCHMARKS.md"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    shutil.copytree(ROOT / "docs", copy / "docs")
    (copy / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "mkdocs_hooks.py", copy / "scripts")
    assert build(copy, tmp_path / "good").returncode == 0
    page = copy / "docs" / "install.md"
    page.write_text(page.read_text() + "\nSee [the changelog](../CHANGELOG.md) and [candles](candles.md#no-such-part).\n")
    done = build(copy, tmp_path / "bad")
    assert done.returncode != 0
    assert "../CHANGELOG.md" in done.stderr and "#no-such-part" in done.stderr, done.stderr
