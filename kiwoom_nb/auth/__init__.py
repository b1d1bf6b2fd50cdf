"""kiwoom_nb.auth."""
