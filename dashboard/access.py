"""Who may do what on which queue: roles, grants with queue patterns, and the users file.

Roles, each allowing what the one before it allows:
- viewer: read;
- operator: retry, promote, remove, clean, pause and resume, Drain now, selected actions;
- admin: add, edit, empty, obliterate, limits, schedulers, and every other change.

A grant list is an ordered list of (queue pattern, role); the FIRST pattern that matches a queue
gives the role there, so "operator on billing-*, viewer elsewhere" is written in that order. A
queue that no pattern matches is invisible, as `--hide` makes it. A person whose single sign-on
claims match several [[oidc]] entries gets, on each queue, the highest role any of them gives.

The users file (TOML, `--users FILE`) holds password users, API tokens and single sign-on
rules; see examples/users.toml. It is read at start-up (a bad file stops the start with one
sentence) and again whenever it changes on disk (one stat() a request, no Redis command), so a
user removed from it loses access on their next request. A file that turns bad while the server
runs grants nothing until it is fixed: failing closed, with the reason logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("drainboard")


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLES = {role.label: role for role in Role}


class UsersFileError(ValueError):
    """The users file is unreadable or invalid; the message is one sentence naming the place."""


Grants = tuple[tuple[str, Role], ...]
EVERYWHERE: Grants = (("*", Role.ADMIN),)


def first_match(grants: Grants, queue: str) -> Role | None:
    for pattern, role in grants:
        if fnmatchcase(queue, pattern):
            return role
    return None


@dataclass(frozen=True)
class Access:
    """One request's rights: who it is, and the grant lists that decide each queue's role (the
    highest of their first matches). `cap` lowers every role (`--read-only`: viewer)."""

    who: str
    lists: tuple[Grants, ...] = ()
    cap: Role = Role.ADMIN

    def role_on(self, queue: str) -> Role | None:
        found = [role for grants in self.lists if (role := first_match(grants, queue))]
        return min(max(found), self.cap) if found else None

    def sees(self, queue: str) -> bool:
        return self.role_on(queue) is not None

    @property
    def sees_all(self) -> bool:
        """Every queue, whatever its name: a grant list holds `*` (admins, and any list ending
        in a catch-all)."""
        return any(pattern == "*" for grants in self.lists for pattern, _ in grants)

    def may(self, role: Role, queue: str) -> bool:
        held = self.role_on(queue)
        return held is not None and held >= role

    def role_everywhere(self) -> Role | None:
        """The role on every queue when no name can change it (each grant list starts with
        `*`: admins), else None. Then a page of 1,000 queues asks no pattern 2,000 times."""
        if self.lists and all(grants and grants[0][0] == "*" for grants in self.lists):
            return min(max(grants[0][1] for grants in self.lists), self.cap)
        return None

    def may_everywhere(self, role: Role, queues: Iterable[str]) -> bool:
        """`role` on every one of these queues (those the caller sees). With none seen yet, the
        best role the grants give any queue decides: an admin rescans an empty Redis, and an
        operator on billing-* looks for the billing queue made since the start."""
        queues = list(queues)
        everywhere = self.role_everywhere()
        if everywhere is not None and queues:
            return everywhere >= role
        held = [r for queue in queues if (r := self.role_on(queue)) is not None]
        if held:
            return min(held) >= role
        best = [r for grants in self.lists for _, r in grants]
        return bool(best) and min(max(best), self.cap) >= role

    def top(self, queues: Iterable[str]) -> Role | None:
        """The highest role held on any of these queues: what the audit trail records for a
        change that names no queue."""
        queues = list(queues)
        everywhere = self.role_everywhere()
        if everywhere is not None:
            return everywhere if queues else None
        held = [r for queue in queues if (r := self.role_on(queue)) is not None]
        return max(held) if held else None


NOBODY = Access("anonymous")


def admin(who: str, cap: Role = Role.ADMIN) -> Access:
    """DRAINBOARD_USERNAME/PASSWORD and DRAINBOARD_TOKEN: admin on every queue, as before roles."""
    return Access(who, (EVERYWHERE,), cap)


# Password hashes: scrypt (hashlib, OpenSSL's), written scrypt$n$r$p$salt$hash (base64).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _scrypt_parts(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5])
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16) or len(digest) < 16:
        return None
    return n, r, p, salt, digest


def check_password(password: str, stored: str) -> bool:
    parts = _scrypt_parts(stored)
    if parts is None:
        return False
    n, r, p, salt, digest = parts
    given = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p, dklen=len(digest)
    )
    return hmac.compare_digest(given, digest)


def hash_token(token: str) -> str:
    """An API token as the users file stores it. Tokens are long and random, so one SHA-256
    (compared in constant time) is as safe as a slow hash and costs nothing per request."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    grants: Grants


@dataclass(frozen=True)
class Token:
    name: str
    token_hash: str
    grants: Grants


def seal(user: User) -> str:
    """A short digest of the user's stored hash: the session's proof of which password it was."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ClaimRule:
    """A single sign-on rule: people in `group` (the groups claim), or with an email address in
    `email_domain`, get `grants`."""

    group: str | None
    email_domain: str | None
    grants: Grants

    def applies(self, claims: Mapping[str, Any]) -> bool:
        groups = claims.get("groups")
        if self.group is not None:
            return isinstance(groups, list) and self.group in groups
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            return False
        return email.rsplit("@", 1)[1].lower() == (self.email_domain or "").lower()


@dataclass(frozen=True)
class Directory:
    """The users file's contents."""

    users: dict[str, User] = field(default_factory=dict)
    tokens: tuple[Token, ...] = ()
    oidc: tuple[ClaimRule, ...] = ()

    def user(self, name: str, cap: Role, password_seal: str | None = None) -> Access | None:
        """The user's rights, while they are in the file with the password they signed in with
        (`password_seal`, kept in their session): a changed password signs them out too."""
        user = self.users.get(name)
        if user is None or (password_seal is not None and password_seal != seal(user)):
            return None
        return Access(name, (user.grants,), cap)

    def seal_of(self, name: str) -> str | None:
        user = self.users.get(name)
        return seal(user) if user else None

    def sign_in(self, name: str, password: str) -> bool:
        user = self.users.get(name)
        if user is None:
            # As long as a real check, so that timing does not tell which names exist.
            check_password(password, DUMMY_HASH)
            return False
        return check_password(password, user.password_hash)

    def token(self, given: str, cap: Role) -> Access | None:
        digest = hash_token(given)
        found = None
        for token in self.tokens:  # every one compared: the time does not say which matched
            if hmac.compare_digest(digest.encode(), token.token_hash.encode()):
                found = token
        return Access(f"token {found.name}", (found.grants,), cap) if found else None

    def person(self, who: str, claims: Mapping[str, Any], cap: Role) -> Access:
        lists = tuple(rule.grants for rule in self.oidc if rule.applies(claims))
        return Access(who, lists, cap)


# A hash of nothing anyone can type, checked for names that are not in the file.
_ZEROS = base64.b64encode(bytes(16)).decode(), base64.b64encode(bytes(64)).decode()
DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_ZEROS[0]}${_ZEROS[1]}"


def parse(text: str, where: str) -> Directory:
    """The users file's text as a Directory; UsersFileError names what is wrong and where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsersFileError(f"The users file {where} is not valid TOML: {err}.") from None
    unknown = set(data) - {"user", "token", "oidc"}
    if unknown:
        raise UsersFileError(
            f"The users file {where} has an unknown section {sorted(unknown)[0]!r};"
            " it takes [[user]], [[token]] and [[oidc]] entries."
        )
    users: dict[str, User] = {}
    for n, entry in enumerate(_entries(data, "user", where), 1):
        place = f"{where}, [[user]] {n}"
        name = _text(entry, "name", place)
        if name in users:
            raise UsersFileError(f"The users file {where} names the user {name!r} twice.")
        stored = _text(entry, "password", place)
        if _scrypt_parts(stored) is None:
            raise UsersFileError(
                f"In {place}, password must be a hash made by `drainboard hash-password`"
                " (scrypt$…), never the password itself."
            )
        users[name] = User(name, stored, _grants(entry, place))
    tokens = []
    for n, entry in enumerate(_entries(data, "token", where), 1):
        place = f"{where}, [[token]] {n}"
        stored = _text(entry, "hash", place)
        if not (stored.startswith("sha256:") and len(stored) == 71):
            raise UsersFileError(
                f"In {place}, hash must be a token's hash made by"
                " `drainboard hash-password --token` (sha256:…), never the token itself."
            )
        tokens.append(Token(_text(entry, "name", place), stored, _grants(entry, place)))
    rules = []
    for n, entry in enumerate(_entries(data, "oidc", where), 1):
        place = f"{where}, [[oidc]] {n}"
        group, domain = entry.get("group"), entry.get("email_domain")
        if (group is None) == (domain is None) or not isinstance(group or domain, str):
            raise UsersFileError(f"In {place}, give either group or email_domain (text).")
        rules.append(ClaimRule(group, domain, _grants(entry, place)))
    return Directory(users, tuple(tokens), tuple(rules))


def _entries(data: dict[str, Any], kind: str, where: str) -> list[dict[str, Any]]:
    entries = data.get(kind, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsersFileError(f"In the users file {where}, {kind} entries are written [[{kind}]].")
    return entries


def _text(entry: dict[str, Any], key: str, place: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise UsersFileError(f"In {place}, {key} must be a non-empty text.")
    return value


def _grants(entry: dict[str, Any], place: str) -> Grants:
    """`grants = [{ queues = "billing-*", role = "operator" }, …]`, in order: first match wins."""
    given = entry.get("grants")
    if not isinstance(given, list) or not given:
        raise UsersFileError(
            f'In {place}, grants must be a list such as [{{ queues = "*", role = "viewer" }}].'
        )
    grants = []
    for grant in given:
        grant = grant if isinstance(grant, dict) else {}
        role = ROLES.get(str(grant.get("role")))
        pattern = grant.get("queues")
        if role is None or not isinstance(pattern, str) or not pattern:
            raise UsersFileError(
                f"In {place}, each grant needs queues (a pattern such as billing-*) and a role:"
                f" viewer, operator or admin; got {str(grant or given)[:80]}."
            )
        grants.append((pattern, role))
    return tuple(grants)


def load(path: str) -> Directory:
    try:
        with open(path, encoding="utf-8") as file:
            return parse(file.read(), path)
    except (OSError, UnicodeDecodeError) as err:
        raise UsersFileError(f"The users file {path} cannot be read ({err}).") from None


class UsersFile:
    """The users file, read again when its modification time or size changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp = self._stat()
        self.directory = load(path)

    def _stat(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def current(self) -> Directory:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self.directory = load(self.path)
            except UsersFileError as err:
                log.error("%s Nobody from the users file is let in until it is fixed.", err)
                self.directory = Directory()
        return self.directory
