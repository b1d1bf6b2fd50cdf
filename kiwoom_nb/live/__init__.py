"""kiwoom_nb.live."""
