"""README.ko.md must not drift from README.md.

Every magic option, magic name and configuration trait named in README.md must also be named in
README.ko.md, and the two must link to each other. The lists are parsed from README.md, not kept here.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EN = (ROOT / "README.md").read_text(encoding="utf-8")
KO = (ROOT / "README.ko.md").read_text(encoding="utf-8")

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
    """The names in the first column of the table under `## heading`."""
    section = re.search(r"^## " + re.escape(heading) + r"\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, f"no '## {heading}' section"
    found = set()
    for line in section.group(1).splitlines():
        cell = re.match(r"\|\s*`([A-Za-z_]\w*)`\s*\|", line)
        if cell:
            found.add(cell.group(1))
    return found


def config_traits(text):
    """First column of README.md's Configuration table, plus every KiwoomMagics.xxx."""
    found = table_traits(text, "Configuration")
    assert found, "no traits found in README.md's Configuration table"
    return found | set(TRAIT_REF.findall(text))


def named(name, text):
    return re.search(r"(?<![\w%-])" + re.escape(name) + r"(?![\w-])", text) is not None


def in_code(name, text):
    return any(named(name, span) for span in code_spans(text))


def test_parsing_finds_something():
    # Guards against a regex that silently matches nothing (and so checks nothing).
    assert "--confirm" in options(EN) and "--pages" in options(EN)
    assert "%kiwoom_login" in magics(EN) and "%kiwoom" in magics(EN)
    assert {"pace", "revoker", "timeout"} <= config_traits(EN)


def test_every_option_is_in_korean_readme():
    missing = sorted(o for o in options(EN) if not in_code(o, KO))
    assert not missing, f"options named in README.md but not in README.ko.md: {missing}"


def test_every_magic_is_in_korean_readme():
    missing = sorted(m for m in magics(EN) if not in_code(m, KO))
    assert not missing, f"magics named in README.md but not in README.ko.md: {missing}"


def test_every_config_trait_is_in_korean_readme():
    missing = sorted(t for t in config_traits(EN) if not in_code(t, KO))
    assert not missing, f"configuration traits named in README.md but not in README.ko.md: {missing}"
    en_table, ko_table = table_traits(EN, "Configuration"), table_traits(KO, "설정")
    assert en_table <= ko_table, (
        f"traits missing from README.ko.md's 설정 table: {sorted(en_table - ko_table)}")


def test_links_both_ways():
    first = lambda text: next(l for l in text.splitlines() if l.strip())
    assert "(README.ko.md)" in first(EN), "README.md must link to README.ko.md on its first line"
    assert "(README.md)" in first(KO), "README.ko.md must link to README.md on its first line"
