"""The Korean documentation must not drift from the English.

README.md has README.ko.md, and every page docs/NAME.md has docs/ko/NAME.md. Every magic option, magic name and
configuration trait named in an English page must also be named in its Korean page, the two must link to each
other on their first line, and each README links to every page of its language. The lists are parsed from the
English pages, not kept here. (docs/notes/ holds drafts, not pages.)
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
PAIRS = [("README.md", "README.ko.md")] + [(f"docs/{name}", f"docs/ko/{name}") for name in PAGES]


def read(path):
    return (ROOT / path).read_text(encoding="utf-8")


EN = "\n".join(read(en) for en, _ in PAIRS)  # everything in English, and in Korean: the README and its pages
KO = "\n".join(read(ko) for _, ko in PAIRS if (ROOT / ko).exists())

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
OPTION = re.compile(r"(?<![\w-])--[A-Za-z][\w.-]*")
MAGIC = re.compile(r"(?<![\w%])%kiwoom\w*")
TRAIT_REF = re.compile(r"\bKiwoomMagics\.([A-Za-z_]\w*)")


def code_spans(text):
    """The text of every fenced block and every inline code span."""
    spans = FENCE.findall(text)
    spans += INLINE.findall(FENCE.sub("", text))
    return spans


def options(text):
    found = set()
    for span in code_spans(text):
        found.update(o.rstrip(".-") for o in OPTION.findall(span))
    return found


def magics(text):
    found = set()
    for span in code_spans(text):
        found.update(MAGIC.findall(span))
    return found


def table_traits(text, heading):
    """The names in the first column of the table under the heading `# heading` or `## heading`."""
    section = re.search(r"^##? " + re.escape(heading) + r"\n(.*?)(?=^##? |\Z)", text, re.S | re.M)
    assert section, f"no '## {heading}' section"
    found = set()
    for line in section.group(1).splitlines():
        cell = re.match(r"\|\s*`([A-Za-z_]\w*)`\s*\|", line)
        if cell:
            found.add(cell.group(1))
    return found


def config_traits(text):
    """First column of docs/configuration.md's table, plus every KiwoomMagics.xxx."""
    found = table_traits(read("docs/configuration.md"), "Configuration")
    assert found, "no traits found in docs/configuration.md's Configuration table"
    return found | set(TRAIT_REF.findall(text))


def named(name, text):
    return re.search(r"(?<![\w%-])" + re.escape(name) + r"(?![\w-])", text) is not None


def in_code(name, text):
    return any(named(name, span) for span in code_spans(text))


def first(text):
    return next(line for line in text.splitlines() if line.strip())


def test_parsing_finds_something():
    # Guards against a regex that silently matches nothing (and so checks nothing).
    assert "--confirm" in options(EN) and "--pages" in options(EN)
    assert "%kiwoom_login" in magics(EN) and "%kiwoom" in magics(EN)
    assert {"pace", "revoker", "timeout"} <= config_traits(EN)
    assert {"install.md", "login.md", "trs.md", "configuration.md", "fake.md"} <= set(PAGES)


def test_every_page_has_its_korean_page_and_no_korean_page_is_alone():
    assert not [ko for _, ko in PAIRS if not (ROOT / ko).exists()], "English pages without a Korean one"
    alone = sorted(p.name for p in (DOCS / "ko").glob("*.md") if p.name not in PAGES)
    assert not alone, f"Korean pages without an English one: {alone}"


@pytest.mark.parametrize("en, ko", PAIRS)
def test_every_option_is_in_the_korean_page(en, ko):
    missing = sorted(o for o in options(read(en)) if not in_code(o, read(ko)))
    assert not missing, f"options named in {en} but not in {ko}: {missing}"


@pytest.mark.parametrize("en, ko", PAIRS)
def test_every_magic_is_in_the_korean_page(en, ko):
    missing = sorted(m for m in magics(read(en)) if not in_code(m, read(ko)))
    assert not missing, f"magics named in {en} but not in {ko}: {missing}"


def test_every_config_trait_is_in_the_korean_pages():
    missing = sorted(t for t in config_traits(EN) if not in_code(t, KO))
    assert not missing, f"configuration traits named in English but not in Korean: {missing}"
    en_table = table_traits(read("docs/configuration.md"), "Configuration")
    ko_table = table_traits(read("docs/ko/configuration.md"), "설정")
    assert en_table <= ko_table, (
        f"traits missing from docs/ko/configuration.md's 설정 table: {sorted(en_table - ko_table)}")


def test_links_both_ways():
    assert "(README.ko.md)" in first(read("README.md")), "README.md must link to README.ko.md on its first line"
    assert "(README.md)" in first(read("README.ko.md")), "README.ko.md must link to README.md on its first line"
    for name in PAGES:
        assert f"(ko/{name})" in first(read(f"docs/{name}")), f"docs/{name} must link to ko/{name} on its first line"
        assert f"(../{name})" in first(read(f"docs/ko/{name}")), f"docs/ko/{name} must link to ../{name} on its first line"


def test_each_readme_links_to_every_page_of_its_language():
    en, ko = read("README.md"), read("README.ko.md")
    assert not [name for name in PAGES if f"](docs/{name}" not in en], "pages README.md does not link to"
    assert not [name for name in PAGES if f"](docs/ko/{name}" not in ko], "pages README.ko.md does not link to"
