"""``python -m kiwoom_nb.testing`` (kiwoom_nb.testing.main): a fake Kiwoom on 127.0.0.1 with the demo keys, the
``export`` lines that point kiwoom_nb at it, one line per request, and what it issued and revoked at exit.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import textwrap
import threading

from .market._market import Clock
from ._replies import DEMO_KEYS
from ._trs import serves

_HOST = "127.0.0.1"


def export_lines(url: str, keys: dict[str, tuple[str, str]], ws_url: str | None = None) -> list[str]:
    """Shell lines pointing both environments' URLs at the fake ``url`` (and its WebSocket ``ws_url``, once the
    running server knows its port) and setting both key pairs."""
    values = {"KIWOOM_BASE_URL": url, "KIWOOM_MOCK_BASE_URL": url + "/mock"}
    if ws_url:
        values.update(KIWOOM_WS_URL=ws_url, KIWOOM_MOCK_WS_URL=ws_url.replace("/api/", "/mock/api/", 1))
    values.update(KIWOOM_APPKEY=keys["production"][0], KIWOOM_SECRETKEY=keys["production"][1],
                  KIWOOM_MOCK_APPKEY=keys["mock"][0], KIWOOM_MOCK_SECRETKEY=keys["mock"][1])
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def _parser(argv: list[str] | None) -> argparse.ArgumentParser:
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--port", default="0")
    early.add_argument("--ws-port", default="0")
    known = early.parse_known_args(argv)[0]  # for --help's export lines; 0 (any free port) is not known yet
    shown, ws_shown = (p if p.isdigit() and int(p) else n for p, n in ((known.port, "PORT"), (known.ws_port, "WS_PORT")))
    unknown = " and ".join(n for n in (shown, ws_shown) if n in ("PORT", "WS_PORT"))
    picks = f"; {unknown} {'is the port' if ' and ' not in unknown else 'are the ports'} it picks (--port / --ws-port " \
        "fix them)" if unknown else ""
    prose = [f"It serves production and mock trading (모의투자) at once. Paste these lines into the shell that starts "
             f"Jupyter{picks} (the running server prints the exact ones):",
             "  " + "\n  ".join(export_lines(f"http://{_HOST}:{shown}", DEMO_KEYS,
                                             f"ws://{_HOST}:{ws_shown}/api/dostk/websocket")),
             f"It serves {serves()}. Ctrl-C or SIGTERM stops it and prints how many tokens it issued and revoked, "
             "and which are still live."]
    epilog = "\n\n".join(text if text.startswith("  ") else textwrap.fill(text, 100) for text in prose)
    parser = argparse.ArgumentParser(prog="python -m kiwoom_nb.testing", description="Run a fake Kiwoom server.",
                                     epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=_port, default=0, help="the HTTP port to listen on (default: any free one)")
    parser.add_argument("--ws-port", type=_port, default=0, help="the WebSocket port (default: any free one)")
    parser.add_argument("--same-token", action="store_true", help="re-issue returns the same token")
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    parser.add_argument("--page-size", type=int, default=600, help="chart rows (candles) per page")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per second per TR (429 beyond)")
    parser.add_argument("--clock", default=None, metavar="WHEN",
                        help="the fake market's clock, Korea time, e.g. '2026-12-01 08:30' (before the open) or "
                             "'15:40' (after the close); it runs from there. Default: an open session, whatever the "
                             "time (a demo at night shows live prices)")
    return parser


def _port(text: str) -> int:
    """A port to listen on: 0 (any free one) to 65535."""
    value = int(text) if text.strip().isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: 1-65535, or 0 for any free one")
    return value


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(argv: list[str] | None = None) -> int:
    from . import FakeKiwoom

    parser = _parser(argv)
    args = parser.parse_args(argv)
    if args.port and args.port == args.ws_port:
        parser.error(f"--port and --ws-port are both {args.port}: HTTP and the WebSocket need a port each")
    log = None if args.quiet else (lambda line: print(line, flush=True))
    try:
        clock = Clock(args.clock)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        server = FakeKiwoom(same_token=args.same_token, log=log, page_size=args.page_size,
                            rate_limit=args.rate_limit, clock=clock).start(port=args.port, host=_HOST,
                                                                           ws_port=args.ws_port)
    except OSError as exc:  # a port in use: one line, not a traceback
        print(f"python -m kiwoom_nb.testing: cannot listen on {_HOST} ({exc.strerror or exc}); pick other ports "
              "with --port / --ws-port, or 0 for free ones", file=sys.stderr, flush=True)
        return 2
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # SIGTERM ends it like Ctrl-C; Ctrl-C works even if started with SIGINT ignored (`&`)
        previous = {s: signal.signal(s, h) for s, h in ((signal.SIGTERM, _interrupt),
                                                        (signal.SIGINT, signal.default_int_handler))}
    try:
        print(f"Fake Kiwoom: production {server.url}  mock {server.mock_url}", flush=True)
        for environment, (appkey, secretkey) in server.keys.items():
            print(f"  {environment:<10} appkey {appkey}  secretkey {secretkey}", flush=True)
        print(f"  market clock {server.clock.now():%Y-%m-%d %H:%M:%S} KST, running (--clock sets it)", flush=True)
        print(textwrap.fill(f"It serves {serves()}. Ctrl-C or SIGTERM stops it. Both environments, for the shell "
                            "that starts Jupyter:", 100), flush=True)
        print("\n".join(export_lines(server.url, server.keys, server.ws_url)), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:  # a second signal must not cut the summary short
            for number in previous:
                signal.signal(number, signal.SIG_IGN)
        server.stop()
        print(f"Stopped. {server.summary()}.", flush=True)
        if main_thread:
            for number, handler in previous.items():
                signal.signal(number, handler)
    return 0
