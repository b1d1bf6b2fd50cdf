"""%kiwoom and kiwoom_nb.client() in real kernels against the fake Kiwoom on loopback (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import CANARY, Kernel, Result, holds, logged_in, revoked_when_done, revoker_pid, the_token

pytestmark = pytest.mark.kernel

ALL_KEYS = (*CANARY["production"], *CANARY["mock"])
CHART = "ka10081 stk_cd=005930 base_dt=20261201 upd_stkpc_tp=1"


def one_line_error(result: Result) -> str:
    """The cell failed with one line (a KiwoomError rendered by IPython, or a UsageError); returns it."""
    assert result.reply["status"] == "error", result.stdout
    message = result.reply["evalue"]
    assert message and "\n" not in message
    shown = result.error["traceback"] if result.error else []
    assert len(shown) <= 1 and (not shown or message in shown[0]), shown
    return message


def secrets_in(kernel: Kernel, fake, since: int) -> list[str]:
    text = json.dumps([m["content"] for m in kernel.iopub[since:]], ensure_ascii=False, default=str)
    return [s[:10] for s in (*ALL_KEYS, *(t.value for t in fake.tokens)) if s in text]


def rows_json(kernel: Kernel, expr: str) -> list[dict[str, Any]]:
    return json.loads(kernel.ok(f"import json; print(json.dumps({expr}.to_dict('records')))").stdout)


def test_pages_all_is_the_union_of_every_page_served(fake, start_kernel):
    fake.page_size, fake.candles = 10, 95
    kernel = logged_in(start_kernel)
    headless = kernel.ok(f"df = %kiwoom {CHART} --pages all --strings")  # like nbclient: no stdin, no bar
    assert headless.stderr == "" and headless.outputs == []

    served = [row for page in fake.served for row in page["rows"]]
    assert rows_json(kernel, "df") == served and len(served) == 95
    chart = [r for r in fake.requests if r.api_id == "ka10081"]
    assert len(chart) == 10
    for page, request in zip(fake.served, chart[1:]):
        assert request.headers["cont-yn"] == "Y" and request.headers["next-key"] == page["next_key"]

    interactive = kernel.ok(f"df = %kiwoom {CHART} --pages 3", allow_stdin=True)  # like JupyterLab: a tqdm bar
    assert any("application/vnd.jupyter.widget-view+json" in o["content"].get("data", {}) for o in interactive.outputs)

    result = kernel.ok(f"df = %kiwoom {CHART}\nprint(len(df), df['cur_prc'].iloc[0], df['dt'].dtype.kind)")
    assert "more pages" in result.stdout and result.stdout.splitlines()[-1] == "10 160400 M"


def test_a_note_says_when_pages_remain_after_the_last_one_fetched(fake, start_kernel):
    """--pages N said nothing of the rest (issue 19, finding 4): one line, with the option that gets them."""
    fake.page_size, fake.candles = 10, 30  # three pages
    kernel = logged_in(start_kernel)
    two = kernel.ok(f"df = %kiwoom {CHART} --pages 2\nprint(len(df))").stdout.splitlines()
    assert two == ["ka10081: Kiwoom has more pages after these 2; --pages 4 or --pages all fetches more", "20"]
    raw = kernel.ok(f"answers = %kiwoom {CHART} --pages 2 --raw\nprint(len(answers))").stdout.splitlines()
    assert raw == [two[0], "2"]  # the two answers as Kiwoom sent them
    one = kernel.ok(f"df = %kiwoom {CHART}").stdout
    assert one == "ka10081: Kiwoom has more pages after this one; --pages 2 or --pages all fetches more\n"
    for every in ("--pages 3", "--pages all", "--pages 5"):
        assert kernel.ok(f"df = %kiwoom {CHART} {every}\nprint(len(df))").stdout == "30\n", every


def test_a_flat_answer_shows_vertically_and_ko_renames(fake, start_kernel):
    """ka10001's 28 fields: field, 한글명, value down the page, the price never behind a cut (issue 20, item 5)."""
    fake.clock.set("2026-12-01 15:40")  # after the close of the day the hand-picked 160,400 is true
    kernel = logged_in(start_kernel)
    [text] = kernel.ok("%kiwoom ka10001 stk_cd=005930").data()
    assert any(line.split() == ["cur_prc", "현재가", "160,400"] for line in text.splitlines()), text
    assert "…" not in text and "..." not in text
    ko = kernel.ok(f"df = %kiwoom {CHART} --ko\nprint(list(df.columns)[:2], df.attrs['labels']['cur_prc'])").stdout
    assert ko.splitlines()[-1] == "['현재가', '거래량'] 현재가"


def test_the_magic_shows_a_table(fake, start_kernel):
    kernel = logged_in(start_kernel)
    result = kernel.ok("%kiwoom ka10001 stk_cd=005930")

    assert any("삼성전자" in html for html in result.data("text/html"))
    found = kernel.ok("%kiwoom --find 일봉")
    # a table in a notebook, whose fonts do not draw Korean two columns wide: text padded with spaces would not align
    table = "".join(found.data("text/html"))
    assert "<table" in table and "<td style=\"text-align:left;white-space:nowrap\">ka10081</td>" in table
    assert "주식일봉차트조회요청" in table and "stk_cd= base_dt= upd_stkpc_tp=" in table


def test_revoked_mid_fetch_reissues_once_and_the_variable_follows(fake, start_kernel):
    fake.page_size, fake.candles = 10, 100
    kernel = logged_in(start_kernel)
    first = the_token(fake)
    fake.revoke_after(5)
    kernel.ok(f"df = %kiwoom {CHART} --pages all\nprint(len(df), df['dt'].is_unique)")

    assert kernel.ok("print(len(df), df['dt'].is_unique)").stdout.split() == ["100", "True"]
    assert len(fake.issues) == 2
    new = the_token(fake)
    assert new != first and holds(kernel, "kiwoom_token", new)

    # a second rejection right after the re-issue is an error, not a loop
    fake.fail_next("invalid_token", path="ka10001")
    fake.fail_next("invalid_token", path="ka10001")
    message = one_line_error(kernel.run("%kiwoom ka10001 stk_cd=005930"))
    assert "8005" in message and len(fake.issues) == 3

    # and the exit revoke knows the newest token, once (counted after the revoker has exited too)
    revoker = revoker_pid(kernel)
    kernel.shutdown()
    assert revoked_when_done(fake, revoker) == [fake.tokens[-1].value]
    assert not fake.is_live(fake.tokens[-1].value)


def test_zero_rows_say_so_in_one_line(fake, start_kernel):
    fake.candles = 0  # a TR that really answers with an empty list
    kernel = logged_in(start_kernel)
    shown = kernel.ok(f"%kiwoom {CHART}")
    kept = kernel.ok(f"df = %kiwoom {CHART}\nprint(type(df).__name__, len(df))")

    assert "ka10081 005930: 0 rows" in shown.stdout.splitlines(), shown.stdout
    assert kept.stdout.splitlines() == ["ka10081 005930: 0 rows", "DataFrame 0"]


def test_client_follows_a_new_login(fake, start_kernel):
    kernel = logged_in(start_kernel)
    kernel.ok("import kiwoom_nb\napi = kiwoom_nb.client()\napi.call('ka10001', stk_cd='005930')")
    kernel.ok("%kiwoom_login --force")
    kernel.ok("api.call('ka10001', stk_cd='005930')")

    used = [r.headers["authorization"] for r in fake.requests if r.api_id == "ka10001"]
    assert used[0] != used[1] and used[1] == f"Bearer {the_token(fake)}"


@pytest.mark.parametrize(
    "line, expect",
    [
        ("%kiwoom ka99999 stk_cd=005930", "path="),
        ("%kiwoom ka10001 --no-check", "1511"),
        ("%kiwoom ka10001", "missing stk_cd (종목코드) — nothing was sent"),
        ("%kiwoom ka10081 stk_code=005930 base_dt=20261201 upd_stkpc_tp=1", "no field stk_code (did you mean stk_cd"),
        ("%kiwoom ka10081 stk_cd=005930 base_dt=20261201 upd_stkpc_tp=2", "upd_stkpc_tp=2 is not one of 0 미적용, 1 적용"),
        ("%kiwoom ka10001 stk_cd=999999", "1902"),
        ("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=1 trde_tp=3", "--confirm"),
        ("%kiwoom ka10001 stk_cd=005930 --pages zero", "--pages"),
        ("%kiwoom", "api-id"),
        ("%kiwoom ka99999 stk_cd=005930 --path /api/dostk/stkinfo", "1505"),
    ],
    ids=["unknown-api-id", "1511", "missing-field", "unknown-field", "bad-code", "1902", "order-unconfirmed", "bad-option", "no-api-id", "unknown-to-kiwoom"],
)
def test_failures_are_one_line_and_the_login_stays(fake, start_kernel, line, expect):
    kernel = logged_in(start_kernel)
    token = the_token(fake)
    since = len(kernel.iopub)
    message = one_line_error(kernel.run(line))

    assert expect in message
    assert secrets_in(kernel, fake, since) == []
    assert holds(kernel, "kiwoom_token", token) and fake.is_live(token)
    assert fake.orders == []


def test_html_page_and_missing_pandas_are_one_line(fake, start_kernel):
    kernel = logged_in(start_kernel)
    since = len(kernel.iopub)
    fake.fail_next("maintenance", path="ka10001")
    assert "HTML page" in one_line_error(kernel.run("%kiwoom ka10001 stk_cd=005930"))
    kernel.ok("import sys; sys.modules['pandas'] = None")
    assert "pip install pandas tqdm" in one_line_error(kernel.run("%kiwoom ka10001 stk_cd=005930"))
    result = kernel.ok("a = %kiwoom ka10001 stk_cd=005930 --raw\nprint(a['stk_cd'], a.api_id)")

    assert result.stdout.split() == ["005930", "ka10001"]
    assert secrets_in(kernel, fake, since) == []


def test_mock_unsupported_tr_is_one_line(fake, kernel_env, start_kernel):
    env = {**kernel_env, **fake.environ("mock")}
    kernel = logged_in(start_kernel, "%kiwoom_login --mock", env=env)
    message = one_line_error(kernel.run("%kiwoom ka10068 strt_dt=20261101 end_dt=20261201 all_tp=1"))

    assert "8104" in message and "mock" in message
    kernel.ok("%kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=1 trde_tp=3")  # mock orders: no confirm
    assert len(fake.orders) == 1 and fake.orders[0].environment == "mock"


def test_production_order_with_confirm_is_sent_once(fake, start_kernel):
    kernel = logged_in(start_kernel)
    kernel.ok("o = %kiwoom kt10000 dmst_stex_tp=KRX stk_cd=005930 ord_qty=1 trde_tp=3 --confirm --raw")

    assert len(fake.orders) == 1 and fake.orders[0].body["stk_cd"] == "005930"


def test_top_level_await_and_a_running_loop(fake, start_kernel):
    kernel = logged_in(start_kernel)
    result = kernel.ok(
        "import asyncio, kiwoom_nb\n"
        "await asyncio.sleep(0)\n"
        "api = kiwoom_nb.client()\n"
        "async def inside():\n"
        "    assert asyncio.get_running_loop().is_running()\n"
        "    return api.call('ka10001', stk_cd='005930')['stk_cd']\n"
        "print(await inside())\n"
        "df = %kiwoom ka10001 stk_cd=005930\n"
        "print(len(df))"
    , timeout=60)

    assert result.stdout.split() == ["005930", "1"]


def test_interrupt_stops_between_pages_and_keeps_them(fake, start_kernel):
    from support import wait_for

    fake.page_size, fake.candles = 10, 100
    kernel = logged_in(start_kernel)
    kernel.ok("%config KiwoomMagics.pace = 2")  # ten pages take about five seconds
    msg_id = kernel.kc.execute(f"df = %kiwoom {CHART} --pages all")
    wait_for(lambda: len(fake.served) >= 3, 30, "three pages served")
    kernel.km.interrupt_kernel()
    reply = wait_for(lambda: _shell_reply(kernel, msg_id), 30, "the interrupted cell's reply")

    assert reply["content"]["ename"] == "KeyboardInterrupt"
    got = len(fake.served)
    assert got < 10
    kept = kernel.ok("import kiwoom_nb\napi = kiwoom_nb.client()\nprint(len(api.last), len(api.to_frame()))")
    pages, rows = map(int, kept.stdout.split())
    assert len(fake.served) == got  # nothing was requested after the interrupt
    # every page that reached the kernel is kept; one in flight when the interrupt landed may be lost
    assert pages in (got - 1, got) and pages >= 2 and rows == 10 * pages
    assert "to_frame()" in "".join(m["content"].get("text", "") for m in kernel.iopub
                                   if m["parent_header"].get("msg_id") == msg_id)


def _shell_reply(kernel: Kernel, msg_id: str):
    from queue import Empty

    try:
        reply = kernel.kc.get_shell_msg(timeout=0.1)
    except Empty:
        return None
    while True:  # drain IOPub so the interrupted cell's stderr is kept
        try:
            kernel.iopub.append(kernel.kc.get_iopub_msg(timeout=0.2))
        except Empty:
            break
    return reply if reply["parent_header"].get("msg_id") == msg_id else None
