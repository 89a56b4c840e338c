"""Session cookies: a signature checked once is kept, and what it was kept for still holds."""

from __future__ import annotations

import time

import pytest

from dashboard.config import Settings
from dashboard.web.middleware.sessions import MAX_AGE, SessionSigner, new_session


def test_a_kept_cookie_still_expires_and_a_copy_is_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = SessionSigner(Settings(redis_url="redis://unused"), redis=None)  # type: ignore[arg-type]
    session = new_session()
    cookie = signer.dumps(session)
    first = signer.loads(cookie)
    assert first == session
    first["u"] = "mallory"  # a caller's change to its copy is not kept for the next request
    assert signer.loads(cookie) == session
    later = time.time() + MAX_AGE + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert signer.loads(cookie) is None
    assert signer.loads(cookie[:-2] + "xx") is None
