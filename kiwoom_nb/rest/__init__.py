"""The TRs: kiwoom_nb.Client and everything a TR call needs.

Owns the TR client (call / pages / rows / frame, retries, token recovery, the order guard), where its token comes
from, the TR table and field catalogue (data/trs.tsv, data/fields.json), the field checks and help, pacing, answers
as DataFrames, candles, names and codes, and order previews.

Imports auth and kiwoom_nb._errors only. It must not import live, notebook, IPython, ipywidgets or traitlets, nor
print (a progress bar aside); pandas and tqdm are imported on first use. Its helpers (candles, codes, preview) take
the client they are given and never import it back.
"""
