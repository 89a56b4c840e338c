# The two commands of the README. Each installs what it needs first.
.PHONY: demo test lint bench

demo:
	@scripts/setup.sh
	.venv/bin/drainboard demo

test:
	@scripts/setup.sh --test
	.venv/bin/ruff check dashboard templates static tests bench examples
	.venv/bin/ruff format --check dashboard templates static tests bench examples
	.venv/bin/pytest -q -n 4

bench:
	@scripts/setup.sh --test
	.venv/bin/python bench/pages.py
