"""Masking secrets that HTTP libraries write into their own debug logs.

urllib3 logs whole request URLs at DEBUG. Providers that put secrets or codes in the query
string (WeChat's ``secret`` and ``js_code``, Aliyun's ``TemplateParam`` and ``PhoneNumbers``)
would leak them into logs whenever someone turns DEBUG on, so their adapters install this.
"""

from __future__ import annotations

import logging
import re
import threading

_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")
_lock = threading.Lock()


class QueryParamRedactor(logging.Filter):
    """Replaces the values of the named query parameters with ``***``."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        alternatives = "|".join(re.escape(name) for name in sorted(names))
        self._pattern = re.compile(rf"((?:{alternatives})=)[^&\s'\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_urllib3_query_params(*names: str) -> None:
    """Install a redactor for these names once; called when an adapter is built, not imported."""
    wanted = frozenset(names)
    with _lock:
        for name in _URLLIB3_LOGGERS:
            logger = logging.getLogger(name)
            if not any(
                isinstance(f, QueryParamRedactor) and f.names == wanted for f in logger.filters
            ):
                logger.addFilter(QueryParamRedactor(wanted))
