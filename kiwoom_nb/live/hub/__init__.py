"""The stream hub owns the one Kiwoom WebSocket per app key and server on this machine, shared by every process of
one OS user.

``_client`` (in the kernel): where the hub listens (a 0700 per-user directory, an authkey file of mode 0600), starting
it on demand (keys through a pipe, never argv or the environment), and a connection to it that the in-process socket
(kiwoom_nb.live._socket) speaks its frames over. ``_server`` (``python -m kiwoom_nb.live.hub``): the hub process,
holding the one real socket, merging every client's REGs and sending each only the REAL entries it watches.

Stdlib and the live room only; no IPython, no printing (the hub logs to its own 0600 file, never a key or token).
"""
