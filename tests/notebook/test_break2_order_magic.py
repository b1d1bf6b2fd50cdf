"""Break attempts on %kiwoom_order (TicketMagics in _watch_magic): what the user sees for a quantity it cannot take."""

from __future__ import annotations

import pytest

from kiwoom_nb import KiwoomError
from test_magics import ip, run  # noqa: F401 (the fixture)


@pytest.mark.parametrize("qty", ["²", "5²", "③"])
def test_a_quantity_of_digits_int_cannot_read_is_refused_in_one_line(ip, fake, qty):
    """"²".isdigit() is True: %kiwoom_order 005930 ² passed the check and int("²") raised a ValueError (a traceback,
    no usage line)."""
    run(ip, "kiwoom_login")
    with pytest.raises(KiwoomError) as caught:
        ip.run_line_magic("kiwoom_order", f"005930 {qty}")
    assert "use %kiwoom_order [CODE [QTY]]" in str(caught.value) and "\n" not in str(caught.value)
    assert fake.orders == []


def test_var_written_with_an_equals_sign_picks_that_login_not_the_default_one(ip, fake):
    """%kiwoom_order --var=kiwoom_mock 005930 (how argparse, and so every other magic, takes it) opened a ticket on
    the default login (here production) for code "--var=kiwoom_mock" and 5,930 shares."""
    run(ip, "kiwoom_login")  # kiwoom_token: production
    with pytest.raises(KiwoomError) as caught:
        ip.run_line_magic("kiwoom_order", "--var=kiwoom_mock 005930")
    assert "no Kiwoom login in kiwoom_mock" in str(caught.value) and "\n" not in str(caught.value)
    ticket = ip.run_line_magic("kiwoom_order", "--var=kiwoom_token 005930 4")
    assert (ticket.code.value, ticket.qty.value) == ("005930", 4)
    with pytest.raises(KiwoomError) as caught:
        ip.run_line_magic("kiwoom_order", "005930 --var=")
    assert "--var needs a name" in str(caught.value)


@pytest.mark.parametrize("line", ["-- 005930", "--help", "-v"])
def test_an_option_it_does_not_know_is_refused_not_taken_as_the_code(ip, fake, line):
    """%kiwoom_order --help opened a ticket for the code "--help"."""
    run(ip, "kiwoom_login")
    with pytest.raises(KiwoomError) as caught:
        ip.run_line_magic("kiwoom_order", line)
    assert "use %kiwoom_order [CODE [QTY]]" in str(caught.value) and "\n" not in str(caught.value)
    assert fake.orders == []
