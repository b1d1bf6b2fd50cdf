"""Issue 30, item 5: the quickstart's candlestick names the stock (삼성전자 005930) and the universe's legend names
its stocks, in a font that draws Hangul. The notebooks run headless (nbclient) against the fake; a last cell reads
the figure's texts from the kernel's namespace."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

pytest.importorskip("mplfinance")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def nb_env(monkeypatch, fake, tmp_path):
    for key, value in {**fake.environ("production"), **fake.environ("mock")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return fake


def run(name: str, probe: str, tmp_path: Path) -> tuple[dict, str]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(new_code_cell(probe))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [o for cell in nb.cells[:-1] if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in shown if o.output_type == "error"], shown
    stderr = "".join(o.get("text", "") for o in shown if o.get("name") == "stderr")
    assert "missing from font" not in stderr, stderr  # Hangul drawn, not as boxes
    assert "findfont" not in stderr, stderr  # nor a font fallback line under the chart
    assert "from the store" not in stderr and "up to date" not in stderr, stderr  # the store's lines: quiet headless
    assert any("image/png" in o.get("data", {}) for o in shown), "no figure was drawn"
    return json.loads(nb.cells[-1].outputs[0]["text"]), stderr


def test_the_quickstart_candlestick_names_the_stock(nb_env, tmp_path):
    texts, _ = run("quickstart.ipynb", "import json; print(json.dumps([fig._suptitle.get_text() if fig._suptitle "
                   "else '', *[a.get_title() for a in axes]], ensure_ascii=False))", tmp_path)
    assert any(text.startswith("삼성전자 005930") for text in texts), texts


def test_the_universe_legend_uses_names(nb_env, tmp_path):
    texts, _ = run("universe.ipynb", "import json; print(json.dumps([t.get_text() for t in "
                   "ax.get_legend().get_texts()], ensure_ascii=False))", tmp_path)
    assert texts[:3] == ["삼성전자 005930", "SK하이닉스 000660", "NAVER 035420"], texts
