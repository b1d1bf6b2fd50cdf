"""The notebook: everything that touches IPython, ipywidgets or traitlets.

Owns the magics, one Magics class per thing users do (KiwoomMagics: %kiwoom_login / %kiwoom_logout /
%kiwoom_status and the ``%config KiwoomMagics.*`` settings; TR calls: %kiwoom; candles: %kiwoom_candles; watching:
%kiwoom_watch), each with its line parsing beside it; ``%load_ext`` (load / unload) and kiwoom_nb.login(), client(),
stream(); the login panel (panel/), status lines, Tab completion, Run All, the kernel's hooks, the boards' widgets and
how ``display(stream)`` shows a board.

The only room that imports IPython, ipywidgets and traitlets; it may use every room below (live, rest, auth). It
must not hold Kiwoom's wire or the client's logic (those stay plain library code, usable in a script), and
``%load_ext`` must not import the widgets, the TR table or pandas until they are first used.
"""
