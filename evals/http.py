"""The one HTTP client for calls to vendors' endpoints, with an address guard.

An endpoint's base URL is typed by a person, so a call to it must never reach the
machine's own cloud metadata service (where credentials live), link-local
addresses, or — unless the operator allows it, for local models — private,
loopback, unique-local and carrier-grade NAT addresses.

The client is aiohttp's, and the guard sits in two places. Before a request, the
URL's scheme and host are checked: metadata host names and address literals
(aiohttp connects to a literal without resolving it) are refused there. Host names
are resolved by ``GuardedResolver``, the connector's resolver: it checks every
address a name resolves to and hands the connector only checked addresses, so the
connection goes to an address that passed the check and a DNS answer that changes
between check and connection (DNS rebinding) cannot slip past it. TLS still
verifies the certificate against the host name.

Nothing is retried here: a call that gets no answer raises TransportError (or
TransportTimeout) and retries live in the runner only. (aiohttp itself resends an
idempotent request, such as a GET, once when a kept-alive connection turns out to
be closed; vendor calls are POSTs, which it never resends.)

Why aiohttp: a run keeps up to an endpoint's max concurrency of calls in flight on
one event loop, and the CPU a call costs decides how many the loop can keep
going. Against the simulated vendor at 64 concurrent calls, a call through this
client costs about 0.27 ms of CPU; through httpx and httpcore (with the pool split
into shards to tame its scans) it cost 0.9-1.0 ms, and a whole run's worker CPU
per sample went from 1.7 to 1.0 ms (bench/README.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings
from yarl import URL

from evals.providers import ProviderError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
# Host names of cloud metadata services (Google, AWS, Azure, Alibaba, Oracle,
# DigitalOcean). Their addresses are refused as well, below.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Google, Azure, Oracle, DigitalOcean
        "169.254.170.2",  # AWS container credentials
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure platform (wireserver)
    )
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address, if any."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` must not be called, as a phrase; None when it may be."""
    address = _embedded_ipv4(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address, which Candor never calls"
    if address.is_link_local:
        return "a link-local address, which Candor never calls"
    if address.is_multicast or address.is_unspecified:
        return "not an address a server can have"

    private_kind = None
    if address.is_loopback:
        private_kind = "a loopback address"
    elif address.is_reserved:
        return "not an address a server can have"
    elif address in CGNAT:
        private_kind = "a carrier-grade NAT address"
    elif address in UNIQUE_LOCAL:
        private_kind = "a unique-local address"
    elif address.is_private or getattr(address, "is_site_local", False):
        private_kind = "a private network address"
    if private_kind is not None:
        if allow_private:
            return None
        return (
            f"{private_kind}; this Candor does not call private addresses unless "
            "the operator sets CANDOR_ENDPOINT_ALLOW_PRIVATE=true"
        )

    if not address.is_global:
        return "not a public address"
    return None


def _bare_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_refusal(host: str, *, allow_private: bool | None = None) -> str | None:
    """A readable refusal for a host name or address literal, without resolving it.

    Catches metadata host names and refused address literals early (e.g. while a
    form is checked); names that resolve to a refused address are caught when
    called.
    """
    allow_private = _allow_private(allow_private)
    bare = _bare_host(host)
    if bare in METADATA_HOSTS:
        return f"{bare} is a cloud metadata host, which Candor never calls."
    if not allow_private and (bare == "localhost" or bare.endswith(".localhost")):
        return (
            f"{bare} is this machine; Candor does not call it unless the operator "
            "sets CANDOR_ENDPOINT_ALLOW_PRIVATE=true."
        )
    try:
        address = ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None
    reason = address_refusal(address, allow_private=allow_private)
    return f"{bare} is {reason}." if reason else None


def _refused(message: str) -> ProviderError:
    return ProviderError(f"Refused to connect: {message}", kind="final")


def _allow_private(value: bool | None) -> bool:
    if value is None:
        return bool(settings.CANDOR_ENDPOINT_ALLOW_PRIVATE)
    return value


def addresses_check(
    host: str, addresses: Iterable[str], *, allow_private: bool
) -> None:
    """Raise ProviderError unless every address of ``host`` may be called."""
    for address in addresses:
        reason = address_refusal(
            ipaddress.ip_address(address), allow_private=allow_private
        )
        if reason is not None:
            logger.warning("endpoint address refused host=%s address=%s", host, address)
            if _bare_host(host) == address:
                raise _refused(f"{address} is {reason}.")
            raise _refused(f"{host} resolves to {address}, {reason}.")


# --- Transport errors: no HTTP answer arrived ---------------------------------------


class TransportError(Exception):
    """A request that got no HTTP answer; ``reason`` reads as the end of a sentence.

    Never a ProviderError: classifying it is the caller's business (the runner
    retries it; the guard's refusals, which are ProviderErrors, are final).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransportTimeout(TransportError):
    """No complete answer within the request's timeout."""


class InvalidURL(TransportError):
    """A URL that cannot be called; ``reason`` says why without repeating it.

    It reads after "The base URL ", e.g. "is not a valid URL".
    """


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _transport_error(error: aiohttp.ClientError) -> TransportError:
    """A readable TransportError for one of aiohttp's client errors."""
    if isinstance(error, aiohttp.InvalidURL):
        return InvalidURL(NOT_A_URL)
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return TransportError("the host name does not resolve.")
    if isinstance(error, aiohttp.ClientConnectorError):
        if _caused_by(error, ConnectionRefusedError):
            return TransportError(
                "the connection was refused; is the server running on that port?"
            )
        detail = str(error.os_error) if error.os_error else ""
        return TransportError(f"the connection failed ({detail[:120] or 'no detail'}).")
    if isinstance(
        error,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientResponseError,
    ):
        return TransportError("the connection closed before a full answer arrived.")
    return TransportError(f"the request failed ({type(error).__name__}).")


# --- The guard ----------------------------------------------------------------------


class GuardedResolver(AbstractResolver):
    """Resolve a host name, refuse it if any address is forbidden, else return all.

    aiohttp's connector connects only to the addresses returned here (and caches
    them for its DNS cache time), so no second lookup can smuggle another address
    in. A refusal raises ProviderError(kind="final"), which aiohttp passes through.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family
        )
        addresses: list[str] = []
        for _family, _type, _proto, _canonname, sockaddr in infos:
            # A scope id ("fe80::1%eth0") only ever belongs to a link-local
            # address, which is refused below anyway.
            address = str(sockaddr[0]).split("%", 1)[0]
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise OSError(f"{host} has no address")
        addresses_check(host, addresses, allow_private=self._allow_private)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


NOT_A_URL = "is not a valid URL"
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def _host_valid(host: str) -> bool:
    if ":" in host:  # an IPv6 literal, as yarl hands it over without brackets
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(host) is not None


def url_check(url: str, *, allow_private: bool) -> URL:
    """The parsed URL, or a refusal (ProviderError) or InvalidURL before any I/O."""
    try:
        parsed = URL(url)
        host = parsed.raw_host
    except (ValueError, TypeError):
        raise InvalidURL(NOT_A_URL) from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise _refused(
            f"{host or 'this URL'} over {parsed.scheme or 'no scheme'}: only http "
            "and https are called."
        )
    if not host or not _host_valid(host):
        raise InvalidURL(NOT_A_URL)
    if parsed.user is not None or parsed.password is not None:
        # Sent as Basic auth they would replace the API key's header.
        raise InvalidURL(
            "carries a user name or password, which Candor does not send (the key "
            "goes in the API key field)"
        )
    refusal = host_refusal(host, allow_private=allow_private)
    if refusal is not None:
        logger.warning("endpoint host refused host=%s", host)
        raise _refused(refusal)
    return parsed


# --- The client -----------------------------------------------------------------------


@dataclass(frozen=True)
class HTTPResponse:
    """A complete answer: status, headers (case-insensitive) and the body as text."""

    status_code: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return jsonlib.loads(self.text)


class HTTPClient(Protocol):
    """What callers of the guarded client rely on (tests provide fakes of it)."""

    async def post(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HTTPResponse: ...


class GuardedClient:
    """An aiohttp session behind the guard: use ``async with``, then get/post.

    One TCP connection pool of ``max_connections`` (kept alive between calls), no
    cookies kept, no redirects followed, no environment proxies. ``timeout``
    bounds a whole request — connecting, sending and reading the full answer —
    and a request may pass its own.
    """

    def __init__(
        self, *, timeout: float, max_connections: int, allow_private: bool
    ) -> None:
        self._timeout = timeout
        self._max_connections = max(1, max_connections)
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _session_open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                resolver=GuardedResolver(allow_private=self._allow_private),
                keepalive_timeout=15,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HTTPResponse:
        parsed = url_check(url, allow_private=self._allow_private)
        send_headers = dict(headers or {})
        data = None
        if json is not None:
            data = jsonlib.dumps(json, ensure_ascii=False).encode()
            send_headers.setdefault("Content-Type", "application/json")
        options: dict[str, Any] = {}
        if timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        session = self._session_open()
        try:
            async with session.request(
                method,
                parsed,
                headers=send_headers,
                data=data,
                allow_redirects=False,
                **options,
            ) as response:
                body = await response.read()
                charset = response.charset or "utf-8"
                return HTTPResponse(
                    status_code=response.status,
                    headers=response.headers,
                    text=_decode(body, charset),
                )
        except TimeoutError:
            # aiohttp's timeouts (total, connect, read) are all TimeoutErrors.
            raise TransportTimeout("no complete answer in time.") from None
        except aiohttp.ClientError as error:
            raise _transport_error(error) from None

    async def get(self, url: str, **options: Any) -> HTTPResponse:
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> HTTPResponse:
        return await self.request("POST", url, **options)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> GuardedClient:
        self._session_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _decode(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def guarded_async_client(
    *, timeout: float, max_connections: int, allow_private: bool | None = None
) -> GuardedClient:
    """A client that refuses forbidden addresses before connecting to them.

    A refusal raises ProviderError(kind="final") naming the host. ``allow_private``
    defaults to settings.CANDOR_ENDPOINT_ALLOW_PRIVATE. Open it with ``async with``
    inside the event loop that uses it.

    Limitation: environment proxies (HTTPS_PROXY and friends) are ignored, because
    through a proxy the guard would check the proxy's address, not the vendor's.
    A deployment that can only reach the internet through a proxy cannot call
    endpoints until the guard learns to check the target and tunnel through it.
    """
    return GuardedClient(
        timeout=timeout,
        max_connections=max_connections,
        allow_private=_allow_private(allow_private),
    )


def run_blocking[T](
    call: Callable[[GuardedClient], Awaitable[T]],
    *,
    timeout: float,
    allow_private: bool | None = None,
) -> T:
    """Run ``call(client)`` with a guarded client from synchronous code.

    For the "test connection" view: it opens a client, awaits the call, closes the
    client. It must not be called from inside a running event loop.
    """

    async def with_client() -> T:
        async with guarded_async_client(
            timeout=timeout, max_connections=1, allow_private=allow_private
        ) as client:
            return await call(client)

    return asyncio.run(with_client())
