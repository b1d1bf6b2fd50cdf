"""The hub's log: its stderr, a file of mode 0600 (opened by _client), that starts over past MAX_LOG. Stdlib only."""

from __future__ import annotations

import logging
import os

#: bytes of log past which the hub's log file starts over (a hub may run for weeks, clients coming and going)
MAX_LOG = 1 << 20


class Bounded(logging.StreamHandler):
    """Logs to a file (the hub's stderr) that starts over once it is past ``limit`` bytes."""

    limit = MAX_LOG

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fd = self.stream.fileno()
            if os.fstat(fd).st_size > self.limit:
                self.stream.flush()
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
        except (OSError, ValueError):  # not a file (a pipe, a terminal): nothing to bound
            pass
        super().emit(record)
