"""The README's ten-line tour runs as written: each line of its Python block, in a real kernel against the fake
Kiwoom (keys in the environment, as `make demo` users paste them into the panel), shows what its comment says.
README.ko.md's tour is the same code."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tour(readme: str, heading: str) -> list[str]:
    """The lines of the first ```python block under ``## heading``, comments dropped."""
    text = (ROOT / readme).read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    block = re.search(r"^```python\n(.*?)^```", section, re.S | re.M).group(1)
    return [re.sub(r"\s+#.*$", "", line).rstrip() for line in block.splitlines() if line.strip()]


def test_the_korean_tour_is_the_same_code():
    assert tour("README.ko.md", "열 줄 둘러보기") == tour("README.md", "A ten-line tour")


@pytest.mark.kernel
def test_the_tour_runs_as_written(start_kernel, fake):
    lines = tour("README.md", "A ten-line tour")
    shell = [line for line in (ROOT / "README.md").read_text().split("## A ten-line tour\n", 1)[1]
             .split("```python", 1)[0].splitlines() if line and not line.startswith("```")]
    assert len(lines) + len(shell) == 10, (shell, lines)  # ten lines, as the heading says
    assert shell[0].startswith("git clone <the repository URL> kiwoom-nb && cd kiwoom-nb")
    kernel = start_kernel()
    results = {}
    for line in lines:
        results[line] = kernel.ok(line, timeout=60)
    _, login, quote, _, candles, chart, stream, board = lines
    assert "logged in as kiwoom_token" in results[login].stdout
    assert "현재가" in "".join(results[quote].data("text/html"))  # the TR's fields with their Korean names
    assert [r for r in fake.requests if r.api_id == "ka10001"][-1].body["stk_cd"] == "005930"  # the name, resolved
    shape = kernel.ok("print(list(df.columns)[:5], len(df) > 100, df.index.is_monotonic_increasing)").stdout
    assert shape.strip() == "['open', 'high', 'low', 'close', 'volume'] True True"
    assert results[chart].data("image/png"), "no chart drawn"
    arrived = kernel.ok("for _ in live.events(timeout=30): break\nprint(len(live.frame('0B')) > 0)").stdout
    assert arrived.strip() == "True"
    assert results[board].data("application/vnd.jupyter.widget-view+json"), "no board shown"
