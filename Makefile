# The two commands of the README (demo, test), each installing what it needs first; and the
# parts of `make test` on their own: lint (ruff and mypy) and unit (pure modules, in seconds).
.PHONY: demo test lint unit bench messages

PY_SOURCES = dashboard templates static tests bench examples

demo:
	@scripts/setup.sh
	.venv/bin/drainboard demo

test: lint
	.venv/bin/pytest -q -n 4

lint:
	@scripts/setup.sh --test
	.venv/bin/ruff check $(PY_SOURCES)
	.venv/bin/ruff format --check $(PY_SOURCES)
	.venv/bin/mypy

unit:
	@scripts/setup.sh
	.venv/bin/pytest -q tests/unit

bench:
	@scripts/setup.sh --test
	.venv/bin/python bench/pages.py

# Re-extract the strings of the templates and sources into every catalog under locales/; the new
# ones come untranslated, and tests/unit/test_catalogs.py lists them until they are translated.
messages:
	@scripts/setup.sh
	.venv/bin/python scripts/messages.py
