"""Issue 30, items 2 and 4: %kiwoom_watch takes its line as %kiwoom does ($variables, {expressions}), refuses what
names nothing, says at a terminal that boards need a notebook and hands over the stream, and a closed stream says
how to open a new one. In-process IPython is a terminal-like shell (no kernel): no widgets."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout

import pytest
from IPython.testing.globalipapp import start_ipython

from kiwoom_nb import KiwoomError
from kiwoom_nb.live._stream import Stream
from support import wait_for


@pytest.fixture
def ip(fake, monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("KIWOOM_"):
            monkeypatch.delenv(key)
    for key, value in fake.environ("production").items():
        monkeypatch.setenv(key, value)
    shell = start_ipython() or __import__("IPython").get_ipython()
    shell.extension_manager.load_extension("kiwoom_nb")
    shell.run_line_magic("kiwoom_login", "")
    yield shell
    shell.extension_manager.unload_extension("kiwoom_nb")


def cell(shell, code: str) -> tuple[object, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        result = shell.run_cell(code)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result, out.getvalue()


def registered(fake) -> list[list[str]]:
    return [item for f in fake.ws.received("REG") for d in f.data["data"] for item in [d["item"]]]


def test_watch_expands_variables_and_expressions(ip, fake):
    ip.user_ns["codes"] = ["000660", "005930"]
    live, said = cell(ip, "live = %kiwoom_watch $codes\nlive")
    assert isinstance(live, Stream)
    wait_for(lambda: registered(fake), 10, "the REG")
    assert registered(fake) == [["000660", "005930"]]  # the codes, not the text "$codes"

    ip.user_ns["one"] = "035420"
    cell(ip, "%kiwoom_watch {one} --type 0D")
    wait_for(lambda: len(registered(fake)) == 2, 10, "the second REG")
    assert registered(fake)[1] == ["035420"]
    ip.user_ns["spaced"] = "005930 000660"
    cell(ip, "%kiwoom_watch $spaced")
    wait_for(lambda: len(registered(fake)) == 3, 10, "the third REG")
    assert registered(fake)[2] == ["005930", "000660"]


def test_a_variable_that_names_nothing_is_refused_and_nothing_is_watched(ip, fake):
    with pytest.raises(KiwoomError, match=r"\$nosuch is not a variable of this namespace") as caught:
        cell(ip, "%kiwoom_watch $nosuch")
    assert "\n" not in str(caught.value)
    assert not fake.ws.received("REG")


def test_at_a_terminal_it_says_boards_need_a_notebook_and_returns_the_stream(ip, fake):
    live, said = cell(ip, "%kiwoom_watch 005930")

    assert isinstance(live, Stream) and not live.closed
    assert "boards need a notebook frontend" in said and 'live.latest("0B")' in said
    wait_for(lambda: len(live.latest("0B")) == 1, 10, "a tick to read")
    assert list(live.latest("0B")["item"]) == ["005930"]


def test_after_logout_watch_says_how_to_open_a_new_stream(ip, fake):
    live, _ = cell(ip, "import kiwoom_nb\nlive = kiwoom_nb.stream()\nlive")
    cell(ip, "%kiwoom_logout")
    with pytest.raises(KiwoomError, match=r"this stream is closed; open a new one: live = kiwoom_nb.stream\(\)"):
        live.watch(["005930"], "0B")


@pytest.mark.parametrize("rate", ["inf", "nan", "1e9"])
def test_a_board_rate_past_any_sense_is_refused_before_a_stream_opens(ip, fake, rate):
    """Issue 28's review, item 3: --rate inf made the board's timer spin without waiting."""
    with pytest.raises(KiwoomError, match=r"--rate=") as caught:
        cell(ip, f"%kiwoom_watch 005930 --rate {rate}")
    assert "\n" not in str(caught.value)
    assert not fake.ws.received()
