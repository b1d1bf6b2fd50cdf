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
