"""kiwoom_nb.testing.market."""
