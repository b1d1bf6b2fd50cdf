"""What %kiwoom_status shows: this kernel's logins as a plain-text and an HTML table.

Owns only the rendering; reads the logins it is given and changes nothing.
"""

from __future__ import annotations

import html
from typing import Any, Iterable

from ...auth._lines import environment_name, pad, width
from ...auth._token import KST, format_left, mask


def status_table(logins: Iterable[Any], *, revoke_at_exit: bool, safety_net: str, pace: str = "") -> tuple[str, str]:
    """(text/plain, text/html) for ``logins``; the safety net's and the pace's lines go under the table."""
    rows = []
    for login in logins:
        expires = login.token.expires_at
        local = expires.astimezone()
        rows.append((
            environment_name(login.mock), login.var, mask(login.token.value),
            f"{expires.astimezone(KST):%Y-%m-%d %H:%M} KST", f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip(),
            format_left(login.token.expires_in()), "yes" if revoke_at_exit else "no (revoke_at_exit is off)",
            login.source,
        ))
    header = ("environment", "variable", "token", "expires (Korea)", "expires (local)", "left", "revoked at exit",
              "keys from")

    net = f"Safety net: {safety_net}"
    if not rows:
        text = "Kiwoom: not logged in (%kiwoom_login logs in)"
        markup = f"<p>{html.escape(text)}</p>"
    else:
        widths = [max(width(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
        text = "\n".join("  ".join(pad(str(c), w) for c, w in zip(r, widths)).rstrip() for r in (header, *rows))
        # narrower than the text: both expiry times in one cell, so a 760 px window shows it unclipped
        # token, expiry and time left never break inside a value ("23h / 59m", "KST" alone on a line)
        cells = lambda r, tag: "".join(  # noqa: E731
            f'<{tag} style="text-align:left{";white-space:nowrap" if i in (2, 3, 4) else ""}">'
            f"{html.escape(str(c))}</{tag}>" for i, c in enumerate(r))
        # (and where the keys came from under the variable, not in a column of its own)
        merged = lambda r: (r[0], f"{r[1]}\nkeys from {r[7]}", r[2], f"{r[3]}\n{r[4]}", *r[5:7])  # noqa: E731
        markup = '<table class="kiwoom-status"><tr>' + cells((*header[:3], "expires", *header[5:7]), "th") + \
            "</tr>" + "".join("<tr>" + cells(merged(r), "td").replace("\n", "<br>") + "</tr>" for r in rows) + \
            "</table>"
        text += "\n" + net + (f"\n{pace}" if pace else "")
        markup += f"<p>{html.escape(net)}</p>" + (f"<p>{html.escape(pace)}</p>" if pace else "")
    return text, markup
