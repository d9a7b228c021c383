"""SSRF guard (security.md #25): user-supplied URLs may not reach private, loopback, link-local or
reserved addresses unless ALLOW_PRIVATE_URLS is on.

The host name is resolved and every address it resolves to is checked, so a public name pointing at
127.0.0.1 is refused too. Redirects are followed by hand (`guarded_get`) so each hop is checked.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app

MAX_REDIRECTS = 5


class UnsafeUrl(ValueError):
    """The URL is malformed or points at an address we refuse to fetch."""


def _refused(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
            or address.is_multicast or address.is_unspecified or not address.is_global)


def check_url(url: str, *, allow_private: bool | None = None) -> str:
    """Return `url` if it is an http(s) URL whose host resolves only to public addresses; else raise."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Only http:// and https:// URLs with a host name can be fetched.")
    if parts.username or parts.password:
        raise UnsafeUrl("URLs with a user name or password are not accepted.")
    if allow_private is None:
        allow_private = bool(current_app.config.get("ALLOW_PRIVATE_URLS"))
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname} could not be resolved.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _refused(address):
            raise UnsafeUrl(
                f"{parts.hostname} resolves to a private, loopback or link-local address ({address}); "
                "fetching it is not allowed."
            )
    return url


def guarded_get(url: str, *, session: requests.Session | None = None, **kwargs) -> requests.Response:
    """GET with the guard applied to the URL and to every redirect hop."""
    http = session or requests.Session()
    kwargs.setdefault("timeout", 20)
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        response = http.get(url, allow_redirects=False, **kwargs)
        if response.is_redirect and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            response.close()
            continue
        return response
    raise UnsafeUrl("Too many redirects.")
