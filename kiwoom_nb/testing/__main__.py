"""``python -m kiwoom_nb.testing``: a fake Kiwoom on 127.0.0.1 with the demo keys until Ctrl-C."""

import sys

from . import main

sys.exit(main())
