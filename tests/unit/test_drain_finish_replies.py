"""How the drain reads moveToFinished's answer (dashboard/drain/finish.py): as bullmq does."""

from __future__ import annotations

from typing import Any

import pytest
from bullmq.scripts import raw2NextJobData

from dashboard.drain.finish import next_job_data


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        0,
        [["name", "j", "data", '{"n":1}', "opts", "{}", "atm", "2"], "7", 0, 0],
        [["name", "j"], "8", 1700000000000, 1700000005000],
        [None, None, 1700000000000, 0],  # rate limited: no job, but its limit
        [[], "9"],  # the two-item answer of an older script
        [None, "0"],
    ],
)
def test_next_job_data_is_bullmqs(raw: Any) -> None:
    assert next_job_data(raw) == raw2NextJobData(raw)
