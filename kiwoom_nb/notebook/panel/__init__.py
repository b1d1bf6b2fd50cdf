"""kiwoom_nb.notebook.panel."""
