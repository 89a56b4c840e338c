"""What serving does once at start-up, in the process that serves."""

from __future__ import annotations

import gc

from dashboard.config import Settings
from dashboard.web import create_app
from tests.helpers import serving


def test_the_start_up_objects_are_frozen_out_of_the_collector(server_url: str) -> None:
    """A full collection walked every object of the process, 30-50 ms: the pages' worst times
    (issue 28's bench). Frozen at start-up, it walks only what requests made since."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with serving(create_app(Settings(redis_url=server_url))):
        assert gc.get_freeze_count() > 10_000
