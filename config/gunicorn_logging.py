"""Gunicorn's access log, without the tokens that are credentials."""

from __future__ import annotations

from gunicorn.glogging import Logger

from config.log_filters import TokenRedaction


class TokenRedactingLogger(Logger):
    """Gunicorn's logger with vendor-link and invitation tokens written as ``[token]``.

    The access log names every request's path and referrer, and a vendor link or
    an invitation carries its credential in the path.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # The access logger is process-wide and a reload runs setup again.
        if not any(
            isinstance(kept, TokenRedaction) for kept in self.access_log.filters
        ):
            self.access_log.addFilter(TokenRedaction())
