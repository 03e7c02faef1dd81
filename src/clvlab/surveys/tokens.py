"""Personal survey links: ``<invite id>.<expiry>.<signature>``, signed with HMAC-SHA256.

The signature is HMAC-SHA256(key, ``"<invite id>.<expiry>"``) truncated to 128 bits and written in
URL-safe base64 (22 characters); the expiry is the Unix time in base 36.  Altering any part breaks
the signature (verified in constant time); a valid signature past its expiry is refused as expired.
The key is ``CLVLAB_LINK_SECRET`` when set, else the server's ``CLVLAB_SECRET_KEY``
(:func:`link_key`); changing it invalidates every link sent.

>>> key = b"k" * 32
>>> token = sign_token(key, 42, expires=1_900_000_000)
>>> verify_token(key, token, now=1_800_000_000)
42
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

from clvlab.errors import ClvlabError
from clvlab.settings import Settings, get_settings

_SIG_BYTES = 16


class LinkError(ClvlabError):
    """A survey link that cannot be answered; ``http_status`` is its HTTP status."""

    http_status = 400


class TamperedLinkError(LinkError):
    """The link is malformed or its signature does not match (altered, or not from this server)."""

    http_status = 403


class ExpiredLinkError(LinkError):
    """The link's signature is valid but it has expired."""

    http_status = 410


class UnknownLinkError(LinkError):
    """The signature is valid but no such invitation exists (deleted)."""

    http_status = 404


def link_key(settings: Settings | None = None) -> bytes:
    """The key that signs survey links: ``CLVLAB_LINK_SECRET``, else ``CLVLAB_SECRET_KEY`` (the
    development key under ``--dev``); a :class:`ClvlabError` with the fix when neither is set."""
    settings = settings or get_settings()
    for secret in (settings.link_secret, settings.secret_key):
        if secret is not None and secret.get_secret_value():
            return secret.get_secret_value().encode()
    if settings.dev:
        from clvlab.server.app import DEV_SECRET

        return DEV_SECRET.encode()
    msg = "survey links are signed, and no key is set"
    raise ClvlabError(msg, hint="set CLVLAB_SECRET_KEY (the server's key) or CLVLAB_LINK_SECRET to a random "
                      "value, the same for clvlab serve and the command that makes the links")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(key: bytes, body: str) -> str:
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign_token(key: bytes, invite_id: int, *, expires: datetime | float) -> str:
    """The token of invitation ``invite_id``, valid until ``expires`` (aware datetime or Unix time)."""
    stamp = int(expires.timestamp() if isinstance(expires, datetime) else expires)
    body = f"{int(invite_id)}.{_b36(stamp)}"
    return f"{body}.{_signature(key, body)}"


def token_expiry(token: str) -> datetime:
    """When a (well-formed) token expires."""
    return datetime.fromtimestamp(int(token.split(".")[1], 36), UTC)


def verify_token(key: bytes, token: str, *, now: float | None = None) -> int:
    """The invitation id of ``token``; :class:`TamperedLinkError` or :class:`ExpiredLinkError` otherwise."""
    parts = token.split(".")
    invalid = TamperedLinkError("this survey link is not valid: it was altered or copied incompletely",
                                hint="open the link exactly as you received it")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isalnum() or len(parts[0]) > 12 or len(parts[1]) > 8:
        raise invalid
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2], _signature(key, body)):
        raise invalid
    expires = int(parts[1], 36)
    if (time.time() if now is None else now) > expires:
        when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        msg = f"this survey link expired on {when}"
        raise ExpiredLinkError(msg, hint="thank you all the same: the survey is closed")
    return int(parts[0])
