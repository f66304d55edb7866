"""Logging filters: keep the tokens that are credentials out of log lines."""

from __future__ import annotations

import logging
import re

# A vendor link (/v/<token>/) and an invitation (/invitations/<token>/, or
# ?invitation=<token> on the sign-up page) carry their credential in the URL, and
# Django logs the path of every refused request (404, 405, 410, 422...).
TOKEN_IN_URL = re.compile(r"(/v/|/invitations/|[?&]invitation=)[^/\s?&#\"']+")
REDACTED = r"\1[token]"


class TokenRedaction(logging.Filter):
    """Replace the token in any URL of the message with ``[token]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_IN_URL.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
