"""Orders as live objects (issue 35): ``api.buy`` / ``api.sell`` place an order through the TR client's guard and
return an :class:`~kiwoom_nb.orders._order.Order` whose status and fills move by themselves (00 events of an open
stream of the same app key, else polling kt00007), ``api.orders()`` and ``api.positions()``.

Imports rest/, live/ and auth/; no IPython. The guard and the preview stay rest/'s: nothing here decides whether a
request may be sent.
"""
