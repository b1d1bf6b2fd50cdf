"""``python -m kiwoom_nb.live.hub LOG``: run the stream hub (its keys and settings arrive on stdin as one JSON line)."""

from ._server import main

if __name__ == "__main__":
    raise SystemExit(main())
