"""kiwoom_nb.rest."""
