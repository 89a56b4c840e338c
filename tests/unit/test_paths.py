"""URL segments both ways, and the ASGI wrapper that routes with `%2F` and `%25` kept."""

from typing import Any

from dashboard.web.paths import EncodedSlashes, connection_in, path_value, routing_path, segment


def test_segment_encodes_everything_but_unreserved_characters() -> None:
    assert segment("a/b c") == "a%2Fb%20c"
    assert segment("../../other") == "..%2F..%2Fother"
    assert segment("50%?#&") == "50%25%3F%23%26"
    assert segment("é") == "%C3%A9"
    assert segment(42) == "42"
    assert segment("A-z_0.9~") == "A-z_0.9~"


def test_path_value_undoes_only_the_two_kept_escapes() -> None:
    assert path_value("a%2Fb%2fc") == "a/b/c"
    assert path_value("50%25") == "50%"
    # `%20` was decoded by routing already: a literal `%20` left here is data.
    assert path_value("a%20b") == "a%20b"
    # `%252F` is the text `%2F`: one pass, so it does not become a slash.
    assert path_value("%252F") == "%2F"


def test_segment_then_routing_then_path_value_gives_the_value_back() -> None:
    for value in ("a/b", "50%", "%2F", "../x", "sp ace", "q?x=1#f", "%252F/%"):
        raw = f"/queue/{segment(value)}".encode("ascii")
        routed = routing_path(raw)
        assert routed is not None and routed.startswith("/queue/")
        assert path_value(routed.removeprefix("/queue/")) == value


def test_routing_path_decodes_all_but_slash_and_percent() -> None:
    assert routing_path(b"/queue/a%2fb%20c%25d/job/%41") == "/queue/a%2Fb c%25d/job/A"
    assert routing_path(b"/plain/path") == "/plain/path"


def test_routing_path_ignores_the_query_string() -> None:
    assert routing_path(b"/queue/a%2Fb?next=%2Fhome%20x") == "/queue/a%2Fb"


def test_routing_path_refuses_a_raw_path_that_is_not_ascii() -> None:
    assert routing_path("/queue/é".encode()) is None
    assert routing_path(b"/queue/\xff%2F") is None


class Downstream:
    """An ASGI app that records the scope it was called with."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request"}


async def _send(message: dict[str, Any]) -> None:
    pass


async def _route(scope: dict[str, Any]) -> dict[str, Any]:
    app = Downstream()
    await EncodedSlashes(app)(scope, _receive, _send)
    [seen] = app.scopes
    return seen


async def test_encoded_slashes_routes_on_the_kept_escapes() -> None:
    scope = {"type": "http", "path": "/queue/a/b/job/1", "raw_path": b"/queue/a%2Fb/job/1"}
    seen = await _route(scope)
    assert seen["path"] == "/queue/a%2Fb/job/1"
    assert seen["raw_path"] == b"/queue/a%2Fb/job/1"
    assert scope["path"] == "/queue/a/b/job/1"  # the caller's scope is not changed


async def test_encoded_slashes_applies_to_websockets() -> None:
    scope = {"type": "websocket", "path": "/live/50%", "raw_path": b"/live/50%25"}
    assert (await _route(scope))["path"] == "/live/50%25"


async def test_encoded_slashes_leaves_a_path_without_kept_escapes_alone() -> None:
    scope = {"type": "http", "path": "/queue/a b", "raw_path": b"/queue/a%20b"}
    assert await _route(scope) is scope


async def test_encoded_slashes_leaves_a_mounted_app_path_alone() -> None:
    # Mounted under /sub, the path no longer matches the raw path: routing keeps the server's.
    scope = {"type": "http", "path": "/queue/a/b", "raw_path": b"/sub/queue/a%2Fb"}
    assert (await _route(scope))["path"] == "/queue/a/b"


async def test_encoded_slashes_leaves_non_ascii_and_missing_raw_paths_alone() -> None:
    scope = {"type": "http", "path": "/q/é/x", "raw_path": "/q/é%2Fx".encode()}
    assert (await _route(scope))["path"] == "/q/é/x"
    bare = {"type": "http", "path": "/queue/a/b"}
    assert (await _route(bare))["path"] == "/queue/a/b"


async def test_encoded_slashes_passes_lifespan_through() -> None:
    scope = {"type": "lifespan"}
    assert await _route(scope) is scope


def test_the_connection_a_query_names_however_it_is_spelled() -> None:
    def named(query: bytes) -> str | None:
        return connection_in({"query_string": query})

    assert named(b"") is None
    assert named(b"status=failed&page=2") is None
    assert named(b"status=failed&connection=beta") == "beta"
    assert named(b"%63onnection=beta") == "beta"  # an escaped name is still the parameter
    assert named(b"connection=") is None
    assert connection_in({"path_params": {"connection": "alpha"}, "query_string": b""}) == "alpha"
