"""Which address the login throttle counts (``deps.client_address``) in each Serve ingress mode."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from raylake.platform.deps import client_address
from raylake.ray_env import serve_environment
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path):
    """No metadata store needed."""
    return make_settings(tmp_path)


def _request(settings, *, ingress: str, peer: str, forwarded: list[str]) -> Request:
    app = SimpleNamespace(
        state=SimpleNamespace(settings=settings.model_copy(update={"serve_ingress": ingress}))
    )
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 40000), "app": app})


@pytest.mark.parametrize(
    ("ingress", "peer", "forwarded", "expected"),
    [
        # behind our HAProxy: only the hop it appends, whatever the client sent before it
        ("haproxy", "127.0.0.1", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),
        ("haproxy", "127.0.0.1", ["203.0.113.9", "198.51.100.7"], "198.51.100.7"),
        ("haproxy", "::1", ["2001:db8::5"], "2001:db8::5"),
        ("haproxy", "127.0.0.1", [], "127.0.0.1"),
        # a peer that is not our proxy is itself, whatever it claims
        ("haproxy", "198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        # Serve's own proxy hands the replica the real peer: a header is never believed
        ("proxy", "127.0.0.1", ["203.0.113.9"], "127.0.0.1"),
        ("proxy", "198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
    ],
)
def test_client_address(settings, ingress, peer, forwarded, expected):
    assert client_address(_request(settings, ingress=ingress, peer=peer, forwarded=forwarded)) == expected


@pytest.mark.parametrize("ingress", ["haproxy", "proxy"])
def test_serve_trusts_no_forwarding_header_and_haproxy_appends_the_peer(settings, ingress):
    env = serve_environment(settings.model_copy(update={"serve_ingress": ingress}))
    assert env["FORWARDED_ALLOW_IPS"] == ""  # uvicorn in Serve's proxy and replicas rewrites nothing
    if ingress == "haproxy":
        assert env["RAY_SERVE_HAPROXY_BALANCE_ALGORITHM"].splitlines()[1].strip() == "option forwardfor"
