"""An IPython extension that does nothing: the baseline for what `%load_ext kiwoom_nb` adds."""


def load_ipython_extension(ipython):
    pass
