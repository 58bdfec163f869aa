"""Logging: JSON lines Cloud Logging understands on App Engine, text locally."""

import json
import logging
import sys


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
