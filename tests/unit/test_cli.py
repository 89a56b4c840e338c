"""The command line's help: every flag of every command says what it does and its default."""

from __future__ import annotations

import argparse

import pytest

from dashboard.cli import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (choices,) = [
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    return dict(choices)


@pytest.mark.parametrize("name", ["serve", "demo", "drain", "worker", "cost"])
def test_every_flag_has_help_with_its_default(name: str) -> None:
    undocumented = [
        action.option_strings[0]
        for action in subcommands()[name]._actions
        if action.option_strings != ["-h", "--help"] and "default" not in (action.help or "")
    ]
    assert undocumented == []


@pytest.mark.parametrize("name", ["serve", "demo"])
def test_serve_help_says_how_to_set_credentials(name: str) -> None:
    text = subcommands()[name].format_help()
    for variable in ("DRAINBOARD_USERNAME", "DRAINBOARD_PASSWORD", "DRAINBOARD_TOKEN"):
        assert variable in text


def test_a_shared_flag_is_defined_once() -> None:
    from dashboard import cli

    source = cli.__loader__.get_source(cli.__name__) or ""  # type: ignore[union-attr]
    for flag in ("--redis-url", "--prefix", "--queues", "--processors", "--concurrency"):
        assert source.count(f'"{flag}"') == 1, flag
