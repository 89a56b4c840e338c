"""`--redact` paths and the `--formatter` hook, applied to jobs without a server."""

import pytest

from dashboard.redact import REDACTED, RedactionError, Redactor, load_formatter, parse_paths


def test_parse_paths_splits_dotted_paths() -> None:
    spec = ("data.password", " returnvalue.token ", "data.card.number")
    assert parse_paths(spec) == (
        ("data", "password"),
        ("returnvalue", "token"),
        ("data", "card", "number"),
    )


def test_parse_paths_skips_blank_items() -> None:
    assert parse_paths(("", "  ", "data.a")) == (("data", "a"),)
    assert parse_paths(()) == ()


@pytest.mark.parametrize(
    "item", ["data", "returnvalue", "opts.x", "password", "data.", ".data.x", "data..x", "Data.x"]
)
def test_parse_paths_refuses_a_path_outside_data_and_returnvalue(item: str) -> None:
    with pytest.raises(RedactionError, match=r"start with data\. or returnvalue\.") as caught:
        parse_paths(("data.ok", item))
    assert repr(item.strip()) in str(caught.value)


def test_redaction_error_is_a_value_error() -> None:
    assert issubclass(RedactionError, ValueError)


JOB = {
    "id": "1",
    "name": "pay",
    "data": {
        "password": "hunter2",
        "card": {"number": "4111", "exp": "12/30"},
        "users": [{"name": "a", "password": "p1"}, {"name": "b"}, "not a dict"],
        "keep": "visible",
    },
    "returnvalue": {"token": "t0k", "ok": True},
    "logs": ["card 4111"],
}


def redactor(*paths: str, formatter=None) -> Redactor:
    return Redactor(parse_paths(paths), formatter)


def test_paths_blank_nested_fields_and_every_list_item() -> None:
    shown = redactor("data.password", "data.card.number", "data.users.password").job(JOB)
    assert shown["data"] == {
        "password": REDACTED,
        "card": {"number": REDACTED, "exp": "12/30"},
        "users": [{"name": "a", "password": REDACTED}, {"name": "b"}, "not a dict"],
        "keep": "visible",
    }
    assert shown["returnvalue"] == JOB["returnvalue"]
    assert shown["logs"] == JOB["logs"]


def test_returnvalue_paths() -> None:
    shown = redactor("returnvalue.token").job(JOB)
    assert shown["returnvalue"] == {"token": REDACTED, "ok": True}
    assert shown["data"] == JOB["data"]


def test_the_input_job_is_left_as_it_was() -> None:
    before = repr(JOB)
    redactor("data.password", "data.users.password", "data.card.number").job(JOB)
    assert repr(JOB) == before


def test_missing_paths_change_nothing() -> None:
    r = redactor("data.nope", "data.card.nope.deeper", "data.keep.sub", "returnvalue.x")
    assert r.job(JOB) == JOB
    # No returnvalue (a waiting job) or a data that is not an object (a string payload).
    assert r.job({"data": "just text"}) == {"data": "just text"}
    assert r.job({"data": None, "returnvalue": None}) == {"data": None, "returnvalue": None}


def test_a_list_at_the_root_is_walked_too() -> None:
    shown = redactor("data.secret").job({"data": [{"secret": 1}, {"secret": 2, "x": 3}]})
    assert shown["data"] == [{"secret": REDACTED}, {"secret": REDACTED, "x": 3}]


def test_a_whole_subtree_can_be_blanked() -> None:
    assert redactor("data.card").job(JOB)["data"]["card"] == REDACTED


def test_inactive_redactor_returns_the_job_itself() -> None:
    r = Redactor()
    assert not r.active
    assert r.job(JOB) is JOB


def test_formatter_runs_after_the_paths_on_a_copy() -> None:
    seen = []

    def hook(job: dict) -> dict:
        seen.append(job["data"]["password"])
        job["data"]["card"]["exp"] = "hidden"  # a deep change must not reach the caller's job
        return {**job, "logs": ["masked"]}

    r = redactor("data.password", formatter=hook)
    assert r.active
    shown = r.job(JOB)
    assert seen == [REDACTED]
    assert shown["logs"] == ["masked"] and shown["data"]["card"]["exp"] == "hidden"
    assert JOB["data"]["card"]["exp"] == "12/30"


def test_fields_apply_the_paths_but_not_the_formatter() -> None:
    def hook(job: dict) -> dict:
        raise AssertionError("the formatter is for whole jobs")

    template = {"data": {"password": "x"}, "opts": {"attempts": 2}}
    shown = redactor("data.password", formatter=hook).fields(template)
    assert shown == {"data": {"password": REDACTED}, "opts": {"attempts": 2}}
    assert template["data"]["password"] == "x"


def test_load_formatter_imports_module_attr() -> None:
    from tests.formatters import mask_logs

    assert load_formatter("tests.formatters:mask_logs") is mask_logs
    assert load_formatter(None) is None
    assert load_formatter("") is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.formatters", "must be module:attr"),
        (":mask_logs", "must be module:attr"),
        ("tests.formatters:", "must be module:attr"),
        ("no_such_module_for_drainboard:f", "cannot be loaded: No module named"),
        ("tests.formatters:nope", "cannot be loaded: module 'tests.formatters' has no attribute"),
        ("json:decoder", "is not a function"),
    ],
)
def test_load_formatter_refuses_with_one_sentence(spec: str, message: str) -> None:
    with pytest.raises(RedactionError, match=message) as caught:
        load_formatter(spec)
    assert repr(spec) in str(caught.value)
    # No import traceback chained under the sentence.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
