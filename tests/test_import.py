"""Importing kiwoom_nb stays cheap: httpx, ipywidgets and IPython load only when first used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["httpx", "ipywidgets", "IPython", "keyring", "pandas", "tqdm", "websockets", "pyarrow", "duckdb", "filelock"]


def modules_after(code: str) -> set[str]:
    """The top-level modules loaded in a fresh interpreter after running ``code``."""
    script = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import kiwoom_nb",
        "from kiwoom_nb import AccessToken, KiwoomError, issue_token, revoke_token, PRODUCTION_URL",
        "from kiwoom_nb import RequestError, OrderNotConfirmed, find_trs; find_trs('일봉')",
        "import kiwoom_nb; kiwoom_nb.store.location(); kiwoom_nb.update",  # the store's entry: paths only
    ],
)
def test_import_does_not_load_heavy_modules(code):
    loaded = modules_after(code)

    assert "kiwoom_nb" in loaded
    assert not loaded & set(HEAVY)


def test_logging_in_does_load_httpx():
    """The check above can see httpx: using the client loads it."""
    loaded = modules_after(
        "import kiwoom_nb\n"
        "from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom\n"
        "kiwoom_nb.issue_token(*DEMO_KEYS['production'], transport=FakeKiwoom().transport)"
    )

    assert "httpx" in loaded


def test_load_ext_imports_no_http_widgets_or_pandas():
    """%load_ext kiwoom_nb in a real IPython shell: the TR client, pandas and tqdm stay unloaded."""
    loaded = modules_after(
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "import sys; before = set(sys.modules)\n"
        "ip.run_line_magic('load_ext', 'kiwoom_nb')\n"
        "for name in set(sys.modules) - before: print(name)\n"
    )

    assert "kiwoom_nb" in loaded
    assert not loaded & {"httpx", "ipywidgets", "pandas", "tqdm", "websockets", "pyarrow", "duckdb", "filelock"}


def test_load_ext_leaves_the_order_tickets_code_for_its_first_use():
    """Goal 1 (%load_ext ≤ 5 ms) had slipped to 7.3 ms: the ticket's module (its widgets' code, html) was imported to
    register %kiwoom_order. The magic is registered; the module loads when a ticket is asked for."""
    script = ("from IPython.core.interactiveshell import InteractiveShell\n"
              "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'kiwoom_nb')\n"
              "import sys; print('kiwoom_order' in ip.magics_manager.magics['line'], "
              "'kiwoom_nb.notebook.panel._ticket' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "False"], done.stderr


def test_fetching_a_frame_does_load_pandas():
    """The checks above can see pandas: building a frame loads it."""
    loaded = modules_after(
        "import kiwoom_nb\n"
        "from kiwoom_nb.testing import DEMO_KEYS, FakeKiwoom\n"
        "api = kiwoom_nb.Client(*DEMO_KEYS['production'], transport=FakeKiwoom().transport)\n"
        "api.frame('ka10001', stk_cd='005930')\n"
    )

    assert "pandas" in loaded


def test_load_ext_imports_neither_httpx_nor_ipywidgets_nor_keyring():
    loaded = modules_after(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().extension_manager.load_extension('kiwoom_nb')"
    )
    assert "kiwoom_nb" in loaded and "IPython" in loaded
    assert not loaded & {"httpx", "ipywidgets", "keyring", "pandas", "tqdm"}


def test_looking_in_the_keyring_does_load_keyring():
    """The check above can see keyring: a lookup with no keys in the environment loads it."""
    loaded = modules_after("import os\nfor k in [k for k in os.environ if k.startswith('KIWOOM_')]: del os.environ[k]\n"
                           "from kiwoom_nb.auth import _keys\n_keys.find_keys(False)")
    assert "keyring" in loaded


WIDE = "import pandas as pd; print('WIDE', pd.get_option('display.unicode.east_asian_width'))\n"


@pytest.mark.parametrize("before, after, expected", [
    ("import pandas\n", "", True),  # pandas already imported: set at %load_ext
    ("", "import kiwoom_nb.rest._frame as f; f.require_pandas()\n", True),  # set when kiwoom_nb first imports pandas
    ("import pandas as pd; pd.set_option('display.unicode.east_asian_width', True)\n", "", True),
    ("", "", False),  # the user imports pandas later, on their own: left as pandas has it
])
def test_load_ext_lines_up_korean_columns_without_importing_pandas(before, after, expected):
    """Issue 30: Korean columns line up in pandas' text output (east_asian_width); %load_ext never imports pandas."""
    script = ("from IPython.testing.globalipapp import start_ipython\n" + before + "ip = start_ipython()\n"
              "import sys; had = 'pandas' in sys.modules\n"
              "ip.run_line_magic('load_ext', 'kiwoom_nb')\n"
              "print('LOADED_PANDAS', 'pandas' in sys.modules and not had)\n" + after + WIDE)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "LOADED_PANDAS False" in done.stdout
    assert f"WIDE {expected}" in done.stdout, done.stdout
