"""Helpers for browser tests that watch several pages sync."""

import time


def agree(pages, state, timeout=30):
    """What the JS function ``state`` returns on every page once all pages
    return the same. Each round asks every page to sync now rather than
    wait for its timer; two pages must agree, so this polls from here."""
    deadline = time.monotonic() + timeout
    while True:
        values = [page.evaluate(state) for page in pages]
        if all(value == values[0] for value in values):
            return values[0]
        assert time.monotonic() < deadline, f"the pages never agreed: {values}"
        for page in pages:
            page.evaluate("mobwrite.syncNow()")
        pages[0].wait_for_timeout(250)
