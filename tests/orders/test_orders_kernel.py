"""api.buy in a real kernel against the fake (issue 35): the notebook's client trades, the guard holds, `await o`
works in a cell."""

from __future__ import annotations

import pytest
from support import logged_in

pytestmark = pytest.mark.kernel


def test_a_notebook_client_previews_then_places_and_awaits_an_order(fake, start_kernel):
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    kernel = logged_in(start_kernel)
    shown = kernel.ok("import kiwoom_nb\napi = kiwoom_nb.client()\nprint(api.buy('005930', 2))")
    assert fake.orders == [] and "not sent: BUY 2 × 005930" in shown.stdout and "confirm=True" in shown.stdout
    done = kernel.ok("o = api.buy('005930', 2, confirm=True)\nawait o\nprint(o.status, o.filled, len(o.fills))",
                     timeout=60)
    assert done.stdout.split() == ["filled", "2", "1"]
    assert len(fake.orders) == 1 and fake.orders[0].body == {"dmst_stex_tp": "KRX", "stk_cd": "005930",
                                                             "ord_qty": "2", "trde_tp": "3"}


def test_a_ticket_in_a_kernel_sends_after_two_clicks_and_keeps_no_secret_in_its_state(fake, start_kernel):
    fake.clock.set("2026-12-01 10:00")
    fake.clock.speed = 0
    kernel = logged_in(start_kernel)
    kernel.ok("import kiwoom_nb\nt = kiwoom_nb.ticket('005930', 2)\nt.market.value = True\nt.send.click()\nprint(len(t.preview.value) > 0)")
    assert fake.orders == []
    shown = kernel.ok("t.confirm.click()\nt.order.wait(10)\nprint(t.order.status)\n"
                      "import json\nstates = [json.dumps(w.get_state(), default=str) for w in t.widget.children]\n"
                      "print(kiwoom_token.value in ''.join(states))", timeout=60)
    assert shown.stdout.split() == ["filled", "False"] and len(fake.orders) == 1


def test_the_order_magic_shows_a_ticket_and_refuses_a_bad_line_in_one_line(fake, start_kernel):
    kernel = logged_in(start_kernel)
    shown = kernel.ok("t = %kiwoom_order 005930 4\nprint(type(t).__name__, t.code.value, t.qty.value, "
                      "'BUY 4 × 005930' in t.preview.value)")
    assert shown.stdout.split() == ["Ticket", "005930", "4", "True"] and fake.orders == []
    refused = kernel.run("%kiwoom_order 005930 four")
    assert "use %kiwoom_order [CODE [QTY]]" in refused.error["evalue"] and len(fake.orders) == 0
