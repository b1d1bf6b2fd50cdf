"""Real time: kiwoom_nb.Stream on Kiwoom's WebSocket.

Owns the wire frames (REG / REMOVE, the URLs and their rules), the socket and its daemon thread, the streams (watch,
buffers, callbacks, iterators, condition search), the FID table (data/fids.json), events as DataFrames, and the data
side of live boards (what a board shows, computed from events, as plain text and HTML).

Imports rest, auth and kiwoom_nb._errors. It must not import the notebook room, IPython, ipywidgets or traitlets:
a Stream does not know boards or widgets (the notebook room registers how ``display(stream)`` shows one), and user
code never runs on the socket's reading thread. websockets and pandas are imported on first use.
"""
