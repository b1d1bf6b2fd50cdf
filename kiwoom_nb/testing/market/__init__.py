"""The fake Kiwoom's made-up market: stocks, the price path per code and the fake's clock (``_clock``, ``_path``,
``_market``), mock orders (``_orders``), candles and charts, the answers of TRs without a hand-made one, and the
shapes Kiwoom's recorded answers have (``_shapes``).

Owns only data, deterministic in every process (sha256, not hash()). Stdlib only; it must not import kiwoom_nb's
rooms nor the fake's OAuth, TR and WebSocket sides (they use it), and never does I/O.
"""
