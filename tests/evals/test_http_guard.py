"""The guarded client refuses forbidden addresses before it connects anywhere.

No test here connects to anything but 127.0.0.1: name resolution is replaced
where a host name is used, and every connection attempt is recorded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from asyncio.selector_events import BaseSelectorEventLoop

import pytest

from evals.http import (
    TransportError,
    address_refusal,
    guarded_async_client,
    host_refusal,
    run_blocking,
)
from evals.providers import ProviderError


@pytest.fixture
def connections(monkeypatch) -> list[str]:
    """Every address a connection is attempted to; attempts to others fail the test.

    Recorded at the event loop's socket connect, below any HTTP library.
    """
    attempted: list[str] = []
    original = BaseSelectorEventLoop.sock_connect

    async def recording_connect(self, sock, address):
        host = address[0]
        attempted.append(host)
        assert host == "127.0.0.1", f"a test tried to connect to {host}"
        return await original(self, sock, address)

    monkeypatch.setattr(BaseSelectorEventLoop, "sock_connect", recording_connect)
    return attempted


@pytest.fixture
def resolver(monkeypatch) -> dict[str, list[str]]:
    """Fake DNS: host name -> addresses. Unknown names fail the test."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def fake_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if isinstance(host, bytes):
            host = host.decode("idna")
        lookups.append(host)
        if host not in answers:
            raise AssertionError(f"a test looked up {host}")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    answers["__lookups__"] = lookups  # type: ignore[assignment]
    return answers


def _get(url: str, *, allow_private: bool = False):
    async def go():
        async with guarded_async_client(
            timeout=5, max_connections=4, allow_private=allow_private
        ) as client:
            return await client.get(url)

    return asyncio.run(go())


# --- Address rules --------------------------------------------------------------

ALWAYS_REFUSED = [
    "169.254.169.254",
    "169.254.170.2",
    "169.254.1.1",
    "fe80::1",
    "fd00:ec2::254",
    "100.100.100.200",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
]
PRIVATE = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.10",
    "127.0.0.1",
    "::1",
    "100.64.0.1",
    "fc00::1",
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", ALWAYS_REFUSED + PRIVATE)
def test_refused_by_default(address):
    reason = address_refusal(ipaddress.ip_address(address), allow_private=False)

    assert reason is not None


@pytest.mark.parametrize("address", ALWAYS_REFUSED)
def test_link_local_and_metadata_stay_refused_when_private_is_allowed(address):
    reason = address_refusal(ipaddress.ip_address(address), allow_private=True)

    assert reason is not None


@pytest.mark.parametrize("address", PRIVATE)
def test_private_addresses_are_allowed_when_the_operator_allows_them(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_metadata_host_names_are_refused_without_resolving_them():
    message = host_refusal("Metadata.Google.Internal.", allow_private=True)

    assert message == (
        "metadata.google.internal is a cloud metadata host, which Candor never calls."
    )


# --- The client: refusal before any connection ----------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[fe80::1]/v1", "fe80::1"),
        ("https://[fd00:ec2::254]/latest", "fd00:ec2::254"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "metadata.google.internal",
        ),
        ("http://10.0.0.8:8000/v1", "10.0.0.8"),
        ("http://192.168.1.20/v1", "192.168.1.20"),
        ("http://127.0.0.1:9/v1", "127.0.0.1"),
    ],
)
def test_the_client_refuses_before_connecting(url, named, connections, resolver):
    with pytest.raises(ProviderError) as caught:
        _get(url)

    assert caught.value.kind == "final"
    assert named in caught.value.message
    assert caught.value.message.startswith("Refused to connect")
    assert connections == []
    assert resolver["__lookups__"] == []


def test_a_name_with_any_forbidden_address_is_refused(connections, resolver):
    resolver["vendor.example.test"] = ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(ProviderError) as caught:
        _get("https://vendor.example.test/v1/models")

    assert caught.value.kind == "final"
    assert caught.value.message == (
        "Refused to connect: vendor.example.test resolves to 10.1.2.3, a private "
        "network address; this Candor does not call private addresses unless the "
        "operator sets CANDOR_ENDPOINT_ALLOW_PRIVATE=true."
    )
    assert connections == []


def test_a_name_resolving_to_metadata_is_refused_even_when_private_is_allowed(
    connections, resolver
):
    resolver["rebind.example.test"] = ["169.254.169.254"]

    with pytest.raises(ProviderError) as caught:
        _get("http://rebind.example.test/v1", allow_private=True)

    assert "cloud metadata address" in caught.value.message
    assert connections == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/v1", "file:///etc/passwd"])
def test_schemes_other_than_http_are_refused(url, connections):
    with pytest.raises(ProviderError) as caught:
        _get(url, allow_private=True)

    assert caught.value.kind == "final"
    assert "only http and https" in caught.value.message
    assert connections == []


def test_the_setting_decides_when_no_choice_is_passed(settings, connections):
    settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = False

    async def go():
        async with guarded_async_client(timeout=5, max_connections=1) as client:
            await client.get("http://127.0.0.1:9/")

    with pytest.raises(ProviderError):
        asyncio.run(go())
    assert connections == []


# --- The client: what it does allow ----------------------------------------------


def test_loopback_is_called_when_the_operator_allows_it(simulated_vendor, connections):
    response = _get(f"{simulated_vendor.url}/models", allow_private=True)

    assert response.status_code == 200
    assert connections == ["127.0.0.1"]


def test_it_connects_to_the_address_it_checked_not_to_a_second_lookup(
    simulated_vendor, connections, resolver
):
    resolver["sim.example.test"] = ["127.0.0.1"]

    response = _get(
        f"http://sim.example.test:{simulated_vendor.port}/v1/models",
        allow_private=True,
    )

    assert response.status_code == 200
    assert connections == ["127.0.0.1"]
    assert resolver["__lookups__"] == ["sim.example.test"]


def test_a_refused_connection_is_tried_once_never_retried(connections):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    with pytest.raises(Exception) as caught:
        _get(f"http://127.0.0.1:{port}/v1", allow_private=True)

    assert not isinstance(caught.value, ProviderError)
    assert connections == ["127.0.0.1"]


def test_a_name_that_resolves_to_nothing_is_a_network_error_not_a_refusal(
    connections, resolver
):
    resolver["gone.example.test"] = []

    with pytest.raises(TransportError) as caught:
        _get("https://gone.example.test/v1")

    assert not isinstance(caught.value, ProviderError)
    assert caught.value.reason == "the host name does not resolve."
    assert connections == []


def test_synchronous_code_can_call_through_the_guard(simulated_vendor):
    async def models(client):
        response = await client.get(f"{simulated_vendor.url}/models")
        return [model["id"] for model in response.json()["data"]]

    assert run_blocking(models, timeout=5, allow_private=True) == [
        "agreeable",
        "candid",
    ]


def test_synchronous_code_gets_the_same_refusal(connections):
    async def metadata(client):
        return await client.get("http://169.254.169.254/latest/meta-data/")

    with pytest.raises(ProviderError, match="169.254.169.254"):
        run_blocking(metadata, timeout=5, allow_private=True)
    assert connections == []
