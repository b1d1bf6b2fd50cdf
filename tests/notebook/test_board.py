"""%kiwoom_watch boards in real kernels, over the widget protocol: what the browser is sent (how often, what it shows),
what the fake saw (REMOVE / close), and the board going inert on a restart. No sleeps: waits have deadlines."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone

import pytest

from kiwoom_nb.notebook._board import DOWN, KICKED, UP
from kiwoom_nb.auth._lines import KERNEL_RESTARTED
from kiwoom_nb.live._stream import Stream
from support import CANARY, logged_in, wait_for
from test_leaks import drain, model, send_to_widget, widget_models

pytestmark = pytest.mark.kernel
pytest.importorskip("ipywidgets")


def board_view(kernel) -> str:
    """The comm id of the board's HTML (the one whose state has the status line)."""
    return next(m["content"]["comm_id"] for m in kernel.iopub if m["msg_type"] in ("comm_open", "comm_msg")
                and "kiwoom-status" in str(m["content"]["data"].get("state", {}).get("value", "")))


def updates(kernel, comm_id: str) -> list[dict]:
    return [m for m in kernel.iopub if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
            and "value" in m["content"]["data"].get("state", {})]


def shows(text: str):
    return lambda m: m["msg_type"] == "comm_msg" and text in json.dumps(m["content"]["data"], ensure_ascii=False)


def says(line: str):
    """The board's status line is ``line`` (the board also holds the restart line hidden, for the browser's CSS)."""
    shown = f'<div class="kiwoom-status kiwoom-ended">{line}</div>'
    return lambda m: m["msg_type"] == "comm_msg" and shown in str(m["content"]["data"].get("state", {}).get("value"))


def watching(start_kernel, line: str, *logins: str, env=None):
    kernel = logged_in(start_kernel, *logins, env=env)
    shown = kernel.ok(line)
    assert shown.data("application/vnd.jupyter.widget-view+json"), shown.outputs
    return kernel


def test_at_2000_ticks_a_second_the_board_sends_at_most_its_rate_and_cells_still_answer(fake, start_kernel):
    fake.ws.rate = 0.001  # only the burst
    kernel = watching(start_kernel, "%kiwoom_watch 005930 000660")
    view = board_view(kernel)
    wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("0B")], 5, "the REG")
    start = datetime.now(timezone.utc)
    sender = threading.Thread(target=fake.ws.burst, args=(10_000, ["005930", "000660"]), kwargs={"per_second": 2000})
    sender.start()
    answers = []
    while sender.is_alive():  # a cell answers meanwhile (its time is measured in the benchmark, not here)
        answers.append(kernel.ok("1+1").data()[0])
    sender.join()
    end = datetime.now(timezone.utc)
    kernel.ok("1+1")  # every update sent before now has arrived

    sent = [m for m in updates(kernel, view) if start <= m["header"]["date"] <= end]
    seconds = (end - start).total_seconds()
    assert answers and set(answers) == {"2"}
    assert len(sent) <= 4 * seconds + 1, (len(sent), seconds)
    assert sent, "the board sent nothing while ticks arrived"
    last = sent[-1]["content"]["data"]["state"]["value"]
    assert re.search(rf'class="kiwoom-price"><span class="kiwoom-(up|down|flat)" style="color:({UP}|{DOWN}|inherit)"',
                     last)
    assert "삼성전자" in last  # the name from ka10001 (the codes cache is empty here)


def test_stop_closes_the_boards_stream_and_the_board_stays_still(fake, start_kernel):
    kernel = watching(start_kernel, "%kiwoom_watch 005930")
    view = board_view(kernel)
    drain(kernel, lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == view)
    send_to_widget(kernel, model(widget_models(kernel), "ButtonModel", "Stop"),
                   {"method": "custom", "content": {"event": "click"}})
    drain(kernel, shows("Stop pressed"))
    wait_for(lambda: fake.ws.closes, 10, "the close")
    kernel.ok("1+1")
    after = len(updates(kernel, view))
    fake.ws.burst(50, ["005930"])  # nobody listens any more
    kernel.ok("1+1")
    assert len(updates(kernel, view)) == after


def test_a_kernel_restart_makes_the_board_inert_with_a_line(fake, start_kernel):
    kernel = watching(start_kernel, "%kiwoom_watch 005930")
    kernel.kc.shutdown(restart=True)
    drain(kernel, says(KERNEL_RESTARTED))
    stop = model(widget_models(kernel), "ButtonModel", "Stop")
    assert [m for m in kernel.iopub if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == stop
            and m["content"]["data"].get("state", {}).get("disabled") is True]


def test_after_r10001_the_board_says_another_program_took_the_stream(fake, start_kernel):
    from kiwoom_nb.live.hub import _client

    kernel = watching(start_kernel, "%kiwoom_watch 005930")
    _client.enabled(False)  # another program with the same app key and its own socket (no hub, or an old version)
    try:
        other = Stream(*CANARY["production"], base_url=fake.url, ws_url=fake.ws_url)
    finally:
        _client.enabled(None)
    try:
        drain(kernel, shows(KICKED))
    finally:
        other.close()


def test_the_order_book_shows_ten_ask_and_ten_bid_levels(fake, start_kernel):
    kernel = watching(start_kernel, "%kiwoom_watch 005930 --type 0D")
    book = drain(kernel, shows("width:100%"))["content"]["data"]["state"]["value"]
    assert book.count('class="kiwoom-ask"') == 10 and book.count('class="kiwoom-bid"') == 10


def test_a_mock_order_appears_in_the_orders_feed(fake, start_kernel, kernel_env):
    env = {**kernel_env, **fake.environ("mock")}
    kernel = watching(start_kernel, "%kiwoom_watch --orders", "%kiwoom_login --mock", env=env)
    mark = len(kernel.iopub)
    kernel.ok("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=3 ord_uv=70000 trde_tp=0")
    row = drain(kernel, shows("kiwoom-00"), since=mark)["content"]["data"]["state"]["value"]
    assert "005930" in row and "3주" in row


def test_the_positions_board_reads_kt00018_once_and_moves_with_each_fill(fake, start_kernel, kernel_env):
    """Issue 35: `%kiwoom_watch --positions` shows the holdings and a fill moves them through 04, no new kt00018."""
    env = {**kernel_env, **fake.environ("mock")}
    kernel = watching(start_kernel, "%kiwoom_watch --positions", "%kiwoom_login --mock", env=env)
    held = lambda m: m["msg_type"] in ("comm_open", "comm_msg") and "kiwoom-held" in str(  # noqa: E731
        m["content"]["data"].get("state", {}).get("value", ""))
    opened = next((m for m in kernel.iopub if held(m)), None) or drain(kernel, held)
    first = opened["content"]["data"]["state"]["value"]
    assert "삼성전자" in first and "<td>005930</td><td>10</td>" in first  # the fake account holds 10
    wait_for(lambda: [c for c in fake.ws.live() if c.regs.get("04")], 5, "the REG of 04")
    mark = len(kernel.iopub)  # the board's one update may come before the cell's end
    kernel.ok("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=3 trde_tp=3")  # at market: fills at once
    moved = drain(kernel, shows("<td>005930</td><td>13</td>"), since=mark)["content"]["data"]["state"]["value"]
    assert "SK하이닉스" in moved  # the others stay
    assert [r.api_id for r in fake.requests].count("kt00018") == 1


def test_display_of_a_stream_shows_its_board_and_a_logout_stops_it_with_a_line(fake, start_kernel):
    kernel = logged_in(start_kernel)
    mark = len(kernel.iopub)
    shown = kernel.ok("import kiwoom_nb\nlive = kiwoom_nb.stream(); live.watch(['005930'], '0B')\ndisplay(live)")
    assert shown.data("application/vnd.jupyter.widget-view+json"), shown.outputs
    drain(kernel, shows("005930"), since=mark)
    kernel.ok("%kiwoom_logout")  # the line is sent within the cell
    assert [m for m in kernel.iopub if says(
        "Kiwoom 실전투자 (production): logged out kiwoom_token; token revoked")(m)], "no logout line on the board"
    wait_for(lambda: fake.ws.closes, 20, "the socket closed (with the hub: once its grace period passed)")


def test_condition_hits_and_a_line_without_codes(fake, start_kernel):
    fake.ws.rate = 50
    kernel = watching(start_kernel, "%kiwoom_watch --condition 1")
    hit = drain(kernel, lambda m: m["msg_type"] == "comm_msg" and re.search(
        r'class="kiwoom-(in|out)"', str(m["content"]["data"].get("state", {}).get("value", ""))), timeout=20)
    assert "조건검색 1" in hit["content"]["data"]["state"]["value"]
    refused = kernel.run("%kiwoom_watch").error
    assert refused["ename"] == "KiwoomError" and "needs codes" in refused["evalue"] and "\n" not in refused["evalue"]


def test_a_board_of_a_variable_keeps_the_order_typed_and_signs_its_rates(fake, start_kernel):
    """Issue 30: `%kiwoom_watch $codes` watches the codes (not the text), rows as typed, 등락률 with its sign."""
    kernel = logged_in(start_kernel)
    kernel.ok("codes = ['035420', '000660', '005930']")
    shown = kernel.ok("%kiwoom_watch $codes")
    assert shown.data("application/vnd.jupyter.widget-view+json"), shown.outputs
    full = drain(kernel, lambda m: m["msg_type"] == "comm_msg" and len(re.findall(
        r'data-item="\d+"', str(m["content"]["data"].get("state", {}).get("value", "")))) == 3, timeout=20)
    page = full["content"]["data"]["state"]["value"]
    assert re.findall(r'data-item="(\d+)"', page) == ["035420", "000660", "005930"]
    assert [f.data["data"][0]["item"] for f in fake.ws.received("REG")] == [["035420", "000660", "005930"]]
    for rate in re.findall(r'class="kiwoom-rate"><span class="kiwoom-(\w+)"[^>]*>([^<]*)<', page):
        assert {"up": "+", "down": "−"}.get(rate[0], "") == rate[1][:1] or rate[1].startswith("0.00"), rate


def test_running_a_watch_cell_again_replaces_the_board_it_made(fake, start_kernel):
    kernel = logged_in(start_kernel)
    for _ in range(3):
        kernel.ok("%kiwoom_watch 005930")
    count = ("import threading, kiwoom_nb.live._stream as s\n"
             "print(sum(t.name == 'kiwoom-board' for t in threading.enumerate()), len(s._streams))")

    wait_for(lambda: kernel.ok(count).stdout.split() == ["1", "1"], 10, "one board thread and one stream")
    [conn] = fake.ws.live()
    assert conn.regs == {"0B": {"005930"}}
    kernel.ok("%kiwoom_watch 000660")  # another cell: a board of its own, the first one stays
    wait_for(lambda: kernel.ok(count).stdout.split() == ["2", "2"], 10, "two boards")
    for _ in range(2):  # a cell with two boards, run twice: two boards of its own
        kernel.ok("%kiwoom_watch 005930\n%kiwoom_watch 000660 --type 0D")
    wait_for(lambda: kernel.ok(count).stdout.split() == ["4", "4"], 10, "four boards")
