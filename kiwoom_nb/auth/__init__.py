"""The door: logging in to Kiwoom and leaving.

Owns the access token (AccessToken), the OAuth wire (au10001 issue / au10002 revoke over httpx, the base URLs and
their checks), where keys come from (environment, Colab, the OS keyring, a prompt), the session of one process's
logins, the holders registry shared between processes, the exit path and the revoker process, and the one-line
texts about logins.

Imports only kiwoom_nb._errors. It must not import the TR client (rest), the streams (live), the notebook room or
IPython / ipywidgets / traitlets, must not print (notes go to a ``warn`` callable), and never lets a key or a token
into a message, a log or a repr.
"""
