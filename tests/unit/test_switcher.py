"""The queue switcher's grouping by `--group-delimiter`."""

from dashboard.web.switcher import grouped


def test_no_delimiter_is_one_unnamed_sorted_group() -> None:
    assert grouped(["b", "a.x", "c"], "") == [("", ["a.x", "b", "c"])]


def test_no_names_are_no_groups() -> None:
    assert grouped([], "") == []
    assert grouped([], ".") == []


def test_names_group_under_the_text_before_the_first_delimiter() -> None:
    names = ["mail.send", "sms.out", "mail.bounce", "sms.in.retry"]
    assert grouped(names, ".") == [
        ("mail", ["mail.bounce", "mail.send"]),
        ("sms", ["sms.in.retry", "sms.out"]),
    ]


def test_names_without_the_delimiter_come_first_ungrouped() -> None:
    names = ["zeta", "a:one", "alpha", "b:two", "a:two"]
    assert grouped(names, ":") == [
        ("", ["alpha", "zeta"]),
        ("a", ["a:one", "a:two"]),
        ("b", ["b:two"]),
    ]


def test_groups_are_sorted_by_name_whatever_the_input_order() -> None:
    names = ["z.1", "m.1", "a.1", "m.0"]
    assert [head for head, _ in grouped(names, ".")] == ["a", "m", "z"]
    assert grouped(list(reversed(names)), ".") == grouped(names, ".")


def test_a_delimiter_longer_than_one_character() -> None:
    assert grouped(["a::b", "a:c", "x::y::z"], "::") == [
        ("", ["a:c"]),
        ("a", ["a::b"]),
        ("x", ["x::y::z"]),
    ]


def test_the_input_list_is_not_changed() -> None:
    names = ["b.1", "a.1"]
    grouped(names, ".")
    assert names == ["b.1", "a.1"]
