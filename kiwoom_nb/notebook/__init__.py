"""kiwoom_nb.notebook."""
