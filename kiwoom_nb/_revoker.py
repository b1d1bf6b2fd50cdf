"""``python -m kiwoom_nb._revoker``: the revoker's old command line, kept for kernels started before an upgrade.

A kernel that imported kiwoom_nb before the package moved into rooms still spawns this name; the revoker itself is
kiwoom_nb.auth._revoker (what new kernels run). Nothing imports this module.
"""

import sys

from kiwoom_nb.auth._revoker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
