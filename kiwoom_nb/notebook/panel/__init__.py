"""The login panel (kiwoom_nb.LoginPanel) and what keeps every panel and board on screen truthful.

Owns the panel's widgets and texts, the registry of panels and boards per variable (logged in, logged out, inert
and why), and Run All waiting for a panel's login. It must not log in itself (it calls the login function it is
given) and never keeps a key in a widget longer than it takes the kernel to receive it.
"""
