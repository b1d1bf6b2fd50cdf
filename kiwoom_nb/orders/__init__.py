"""Orders as live objects (issue 35). This room owns ``api.buy`` / ``api.sell`` (placed through the TR client's guard)
returning an :class:`~kiwoom_nb.orders._order.Order` whose status and fills move by themselves (00 events of an open
stream of the same app key, else polling kt00007), ``api.orders()`` and ``api.positions()``.

Imports rest/, live/ and auth/; no IPython. It must not decide whether a request may be sent: the guard and the
preview stay rest/'s.
"""
