"""The fake Kiwoom's made-up market: stocks, prices, candles, charts and the answers of TRs without a hand-made one.

Owns only data, deterministic in every process (sha256, not hash()). Stdlib only; it must not import kiwoom_nb's
rooms (the fake's OAuth, TR and WebSocket sides use it), and never does I/O.
"""
