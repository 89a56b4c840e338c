"""A `--formatter` hook for the redaction tests: masks a secret the jobs write in their logs."""

from __future__ import annotations

from typing import Any


def mask_logs(job: dict[str, Any]) -> dict[str, Any]:
    job["logs"] = [line.replace("LOG-SECRET", "***") for line in job.get("logs", [])]
    return job
