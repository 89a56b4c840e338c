"""Languages on real servers: Accept-Language picks the language of every page, fragment and
error page, the Settings picker overrides it, numbers and times are written the locale's way,
and the JSON API stays English and locale-free (machine clients parse it)."""

from __future__ import annotations

import re

import pytest
from bullmq import Queue

from dashboard.config import Settings
from tests.helpers import csrf_token, make_client, make_jobs

BASE = "/admin/queues"


@pytest.mark.parametrize(
    ("accept", "lang", "word"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Alle jetzt leeren"),
        ("ja", "ja", "すべて今すぐドレイン"),
        ("zh", "zh-Hans-CN", "立即全部排空"),
        ("zh-CN,zh;q=0.9", "zh-Hans-CN", "立即全部排空"),
        ("zh-Hans", "zh-Hans-CN", "立即全部排空"),
        ("pt-BR,pt;q=0.8", "pt-BR", "Drenar tudo agora"),
        ("es", "es", "Drenar todo ahora"),
        ("fr-CA", "fr", "Tout vidanger maintenant"),
        ("nl, en;q=0.1", "en", "Drain all now"),
        ("", "en", "Drain all now"),
    ],
)
async def test_accept_language_picks_the_language(
    server_url: str, accept: str, lang: str, word: str
) -> None:
    await make_jobs(server_url, "mail")
    async with make_client(Settings(redis_url=server_url)) as http:
        page = await http.get(f"{BASE}/", headers={"Accept-Language": accept})
        assert page.status_code == 200
        assert f'<html lang="{lang}">' in page.text
        assert word in page.text
        assert page.headers["content-language"] == lang


async def test_the_picker_overrides_accept_language(server_url: str) -> None:
    await make_jobs(server_url, "mail")
    german = {"Accept-Language": "de"}
    async with make_client(Settings(redis_url=server_url)) as http:
        token = await csrf_token(http)
        chosen = await http.post(
            f"{BASE}/settings/language",
            content="locale=ja",
            headers={
                "X-CSRF-Token": token,
                "Content-Type": "application/x-www-form-urlencoded",
                **german,
            },
        )
        assert chosen.status_code == 303
        page = await http.get(f"{BASE}/", headers=german)
        assert '<html lang="ja">' in page.text and "すべて今すぐドレイン" in page.text
        settings = await http.get(f"{BASE}/settings", headers=german)
        assert '<option value="ja" lang="ja" selected>日本語</option>' in settings.text
        # An empty choice hands the language back to Accept-Language.
        await http.post(
            f"{BASE}/settings/language",
            content="locale=",
            headers={"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"},
        )
        page = await http.get(f"{BASE}/", headers=german)
        assert '<html lang="de">' in page.text


async def test_server_default_locale(server_url: str) -> None:
    await make_jobs(server_url, "mail")
    async with make_client(Settings(redis_url=server_url, locale="fr")) as http:
        page = await http.get(f"{BASE}/")
        assert '<html lang="fr">' in page.text
        page = await http.get(f"{BASE}/", headers={"Accept-Language": "de"})
        assert '<html lang="de">' in page.text


async def test_numbers_and_times_are_the_locales(server_url: str) -> None:
    queue = Queue("big", {"connection": server_url})
    await queue.addBulk([{"name": "n", "data": {"i": i}} for i in range(1234)])
    await queue.close()
    ids = await make_jobs(server_url, "mail")
    expected = {"en": "1,234", "de": "1.234", "fr": "1\u202f234", "ja": "1,234"}
    async with make_client(Settings(redis_url=server_url)) as http:
        for lang, written in expected.items():
            page = await http.get(f"{BASE}/queue/big", headers={"Accept-Language": lang})
            assert f"<dd>{written}</dd>" in page.text or f">{written}<" in page.text, lang
        job = await http.get(
            f"{BASE}/queue/mail/jobs/{ids['completed']}", headers={"Accept-Language": "de"}
        )
        # A relative time ("vor 0 Sekunden" or "gerade eben") and a German date (04.12.2026).
        assert re.search(r">(vor \d+ \w+|gerade eben)</time>", job.text)
        assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d:\d\d UTC", job.text)
        job = await http.get(
            f"{BASE}/queue/mail/jobs/{ids['completed']}", headers={"Accept-Language": "ja"}
        )
        assert re.search(r"\d{4}/\d\d/\d\d \d{1,2}:\d\d:\d\d UTC", job.text)


async def test_notices_and_error_pages_are_translated_the_api_is_not(server_url: str) -> None:
    await make_jobs(server_url, "mail")
    german = {"Accept-Language": "de"}
    async with make_client(Settings(redis_url=server_url)) as http:
        missing = await http.get(f"{BASE}/no/such/page", headers=german)
        assert missing.status_code == 404
        assert "Nicht gefunden" in missing.text and "Unter dieser Adresse" in missing.text
        token = await csrf_token(http)
        paused = await http.post(
            f"{BASE}/api/queues/mail/pause",
            headers={"X-CSRF-Token": token, "HX-Request": "true", **german},
        )
        assert paused.status_code == 200, paused.text
        assert "Queue mail pausiert" in paused.text
        api = await http.post(
            f"{BASE}/api/queues/mail/resume", headers={"X-CSRF-Token": token, **german}
        )
        assert api.json()["message"] == "Queue mail resumed."
        assert "content-language" not in api.headers  # English, whoever asks
        gone = await http.get(f"{BASE}/api/no-such-thing", headers=german)
        assert gone.json()["error"] == "No page at this address."
