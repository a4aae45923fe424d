"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For.

Anyone can send `X-Forwarded-For`, so it is believed only when the peer is one of the
configured trusted proxies, and then only as far as the chain of trusted proxies goes:
read right to left, each trusted hop is skipped and the first untrusted address is the
client. Everything left of that was written by the client and may be forged.

Whatever a proxy sends, the result is a normalised address without an IPv6 zone
(`fe80::1%eth0` is `fe80::1`), so it always fits the 64 characters the sessions table
keeps. `subscriber` is the unit abuse is counted in: for IPv6, the /64 network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_LENGTH = 64  # the sessions.client_ip column
IPV6_SUBSCRIBER_PREFIX = 64  # the block one IPv6 subscriber usually holds


def client_ip(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Sequence[Network]
) -> str | None:
    """The address to attribute the request to (rate limits, audit log, sessions)."""
    if peer is None:
        return None
    peer_address = _parse(peer)
    if peer_address is None:
        return peer[:MAX_LENGTH]  # not an address (a Unix socket path): attribute it as it is
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
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped  # "::ffff:192.0.2.1" is 192.0.2.1
        if address.scope_id is not None:
            # The zone ("%eth0") names an interface of the sender's host: meaningless here,
            # and of any length.
            return ipaddress.IPv6Address(address.packed)
    return address


def subscriber(ip: str) -> str:
    """What abuse is counted per: an IPv4 address, or the /64 network of an IPv6 one.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would
    let one attacker rotate through billions of them. Anything else is returned as is.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # "::ffff:192.0.2.1" is an IPv4 client
            return str(address.ipv4_mapped)
        network = (int(address), IPV6_SUBSCRIBER_PREFIX)  # int: without any zone
        return str(ipaddress.IPv6Network(network, strict=False))
    return ip


def _trusted(address: Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)
