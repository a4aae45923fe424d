"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For.

Anyone can send `X-Forwarded-For`, so it is believed only when the peer is one of the
configured trusted proxies, and then only as far as the chain of trusted proxies goes:
read right to left, each trusted hop is skipped and the first untrusted address is the
client. Everything left of that was written by the client and may be forged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Sequence[Network]
) -> str | None:
    """The address to attribute the request to (rate limits, audit log, sessions)."""
    if peer is None:
        return None
    peer_address = _parse(peer)
    if peer_address is None:
        return peer  # not an address (a Unix socket path): attribute it as it is
    if not _trusted(peer_address, trusted_proxies):
        # Normalised: a dual-stack socket reports IPv4 clients as "::ffff:a.b.c.d".
        return str(peer_address)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    client = peer_address
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # a trusted proxy passed on garbage: stop at the last address we trust
        client = address
        if not _trusted(address, trusted_proxies):
            break
    return str(client)


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:4711"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:4711"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:192.0.2.1" is 192.0.2.1
    return address


def _trusted(address: Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)
