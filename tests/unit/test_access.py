"""Roles, grants and the users file (dashboard/access.py), without a server."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dashboard.access import (
    NOBODY,
    Access,
    Role,
    UsersFile,
    UsersFileError,
    admin,
    check_password,
    hash_password,
    hash_token,
    load,
    parse,
)
from dashboard.cli import main

FILE = f"""
[[user]]
name = "ana"
password = "{hash_password("ana's password")}"
grants = [
  {{ queues = "billing-*", role = "operator" }},
  {{ queues = "*", role = "viewer" }},
]

[[token]]
name = "ci"
hash = "{hash_token("ci-token")}"
grants = [{{ queues = "deploy-*", role = "admin" }}]

[[oidc]]
group = "sre"
grants = [{{ queues = "*", role = "operator" }}]

[[oidc]]
email_domain = "example.com"
grants = [{{ queues = "billing-*", role = "admin" }}, {{ queues = "mail", role = "viewer" }}]
"""


def test_the_first_matching_grant_gives_the_role_and_no_match_hides_the_queue() -> None:
    ana = parse(FILE, "users.toml").user("ana", Role.ADMIN)
    assert ana is not None
    assert ana.role_on("billing-eu") is Role.OPERATOR  # before the catch-all viewer
    assert ana.role_on("mail") is Role.VIEWER
    narrow = Access("bo", ((("billing-*", Role.OPERATOR),),))
    assert narrow.role_on("mail") is None and not narrow.sees("mail")
    assert narrow.may(Role.OPERATOR, "billing-eu") and not narrow.may(Role.ADMIN, "billing-eu")


def test_a_catch_all_grant_anywhere_in_a_list_sees_every_queue() -> None:
    ana = parse(FILE, "users.toml").user("ana", Role.ADMIN)
    assert ana is not None and ana.sees_all  # billing-* first, then * as viewer
    assert admin("ops").sees_all
    assert not Access("bo", ((("billing-*", Role.OPERATOR),),)).sees_all
    assert not NOBODY.sees_all


def test_roles_on_many_queues_at_once_agree_with_each_queue_s_role() -> None:
    """may_everywhere and top answer without a pattern when the grants start with `*`: the same
    answers as asking each queue, with --read-only's cap too."""
    accesses = [
        admin("ops"),
        admin("ops", Role.VIEWER),
        Access("a", ((("*", Role.OPERATOR), ("mail", Role.ADMIN)), (("*", Role.VIEWER),))),
        Access("b", ((("billing-*", Role.ADMIN), ("*", Role.VIEWER)),)),
        Access("c", ((("*", Role.VIEWER),), (("billing-*", Role.ADMIN),))),
    ]
    for access in accesses:
        for queues in (["mail"], ["billing-eu", "mail"], ["billing-eu"]):
            held = [access.role_on(queue) for queue in queues]
            assert access.top(queues) == max(r for r in held if r is not None)
            for role in Role:
                assert access.may_everywhere(role, queues) == all(
                    r is not None and r >= role for r in held
                ), (access, queues, role)
        assert access.top([]) is None


def test_read_only_caps_every_role_at_viewer() -> None:
    ana = parse(FILE, "users.toml").user("ana", Role.VIEWER)
    assert ana is not None and ana.role_on("billing-eu") is Role.VIEWER


def test_a_change_naming_no_queue_needs_the_role_on_every_queue_seen() -> None:
    ana = parse(FILE, "users.toml").user("ana", Role.ADMIN)
    assert ana is not None
    assert ana.may_everywhere(Role.OPERATOR, ["billing-eu", "billing-us"])
    assert not ana.may_everywhere(Role.OPERATOR, ["billing-eu", "mail"])
    # Seeing none yet, the best role of the grants decides (a rescan finds billing-new).
    assert ana.may_everywhere(Role.OPERATOR, []) and not ana.may_everywhere(Role.ADMIN, [])
    assert not Access("nobody").may_everywhere(Role.VIEWER, [])


def test_passwords_are_scrypt_hashes_and_tokens_sha256_compared_in_constant_time() -> None:
    directory = parse(FILE, "users.toml")
    assert directory.sign_in("ana", "ana's password")
    assert not directory.sign_in("ana", "wrong") and not directory.sign_in("bo", "x")
    stored = hash_password("pw")
    assert stored.startswith("scrypt$16384$8$1$") and check_password("pw", stored)
    assert stored != hash_password("pw")  # salted
    token = directory.token("ci-token", Role.ADMIN)
    assert token is not None and token.who == "token ci"
    assert token.role_on("deploy-web") is Role.ADMIN and not token.sees("billing-eu")
    assert directory.token("other", Role.ADMIN) is None


def test_single_sign_on_claims_map_to_grants_highest_role_of_the_rules_that_apply() -> None:
    """Unit-tested with claims dicts; tests/interop/test_oidc_interop.py signs a person in
    through the real provider, whose ID token carries the groups claim."""
    directory = parse(FILE, "users.toml")
    claims = {"email": "al@EXAMPLE.com", "groups": ["sre"]}
    both = directory.person("al@example.com", claims, Role.ADMIN)
    assert both.role_on("billing-eu") is Role.ADMIN  # the domain's rule beats the group's
    assert both.role_on("mail") is Role.OPERATOR  # the group's beats the domain's viewer
    domain = directory.person("al@example.com", {"email": "al@example.com"}, Role.ADMIN)
    assert domain.role_on("mail") is Role.VIEWER and not domain.sees("orders")
    stranger = directory.person("x@elsewhere.org", {"email": "x@elsewhere.org"}, Role.ADMIN)
    assert not stranger.sees("mail") and not stranger.sees("billing-eu")
    not_a_list = directory.person("y", {"groups": "sre"}, Role.ADMIN)
    assert not not_a_list.sees("mail")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[[user]\n", "is not valid TOML"),
        ("[people]\n", "unknown section 'people'"),
        ('[[user]]\nname = "a"\npassword = "secret"\ngrants = []\n', "must be a hash made by"),
        (f'[[user]]\nname = "a"\npassword = "{hash_password("p")}"\n', "grants must be a list"),
        (
            f'[[user]]\nname = "a"\npassword = "{hash_password("p")}"\n'
            'grants = [{ queues = "*", role = "owner" }]\n',
            "viewer, operator or admin",
        ),
        ('[[token]]\nname = "ci"\nhash = "ci-token"\ngrants = []\n', "(sha256:…)"),
        ('[[oidc]]\ngrants = [{ queues = "*", role = "viewer" }]\n', "either group or"),
    ],
)
def test_a_bad_file_is_refused_with_one_sentence_naming_the_place(text: str, said: str) -> None:
    with pytest.raises(UsersFileError) as refused:
        parse(text, "users.toml")
    message = str(refused.value)
    assert said in message and "users.toml" in message and message.endswith(".")


def test_the_file_is_read_again_when_it_changes_and_a_broken_one_lets_nobody_in(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.toml"
    path.write_text(FILE)
    users = UsersFile(str(path))
    assert users.current().user("ana", Role.ADMIN) is not None
    path.write_text(FILE.replace('name = "ana"', 'name = "bea"'))
    os.utime(path, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    assert users.current().user("ana", Role.ADMIN) is None
    assert users.current().user("bea", Role.ADMIN) is not None
    path.write_text("[[user]\n")
    assert users.current().users == {}


def test_hash_password_reads_stdin_and_prints_a_hash_the_file_takes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert main(["hash-password"]) == 0
    assert check_password("s3cret", capsys.readouterr().out.strip())
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["hash-password", "--token"]) == 0
    token_line, hash_line = capsys.readouterr().out.splitlines()
    assert hash_token(token_line.removeprefix("token: ")) == hash_line


def test_the_example_users_file_loads() -> None:
    example = load(str(Path(__file__).resolve().parents[2] / "examples" / "users.toml"))
    assert sorted(example.users) == ["ana", "bo"]
    assert [t.name for t in example.tokens] == ["ci", "cron"]
    ana = example.user("ana", Role.ADMIN)
    assert ana is not None and ana.role_on("billing-eu") is Role.OPERATOR
    assert ana.role_on("mail") is Role.VIEWER


def test_serve_with_a_bad_users_file_stops_with_the_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "users.toml"
    bad.write_text('[[user]]\nname = "a"\npassword = "plain"\ngrants = []\n')
    assert main(["serve", "--users", str(bad)]) == 2
    assert capsys.readouterr().err == (
        f"drainboard: In {bad}, [[user]] 1, password must be a hash made by"
        " `drainboard hash-password` (scrypt$…), never the password itself.\n"
    )
