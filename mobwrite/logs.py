"""Logging: JSON lines Cloud Logging understands on App Engine, text locally."""

import json
import logging
import sys
import time


class Throttled:
    """A warning at most once per ``every`` seconds: while a part is down,
    one line now and then, not one per request."""

    def __init__(self, logger, every=10.0):
        self.logger, self.every = logger, every
        self._last = None

    def warning(self, message, *args, **kwargs):
        now = time.monotonic()
        if self._last is None or now - self._last > self.every:
            self._last = now
            self.logger.warning(message, *args, **kwargs)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the fields Cloud Logging reads."""

    def format(self, record):
        entry = {"severity": record.levelname, "message": record.getMessage(), "logger": record.name}
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(settings):
    """Send mobwrite's logs to stderr in the format fit for where we run."""
    logger = logging.getLogger("mobwrite")
    logger.setLevel(settings.log_level.upper())
    for handler in list(logger.handlers):
        if getattr(handler, "_mobwrite", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._mobwrite = True
    handler.setFormatter(JsonFormatter() if settings.on_app_engine
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
