"""Passwords out of every message: :func:`redact` masks them in URLs and connection strings.

Kept apart from :mod:`clvlab.settings` (which imports pydantic) so that any module can use it at
no import cost.
"""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s'\"]*):(?P<pw>[^@\s'\"]*)@")
_QUERY_PASSWORD = re.compile(r"(?P<key>\b(?:password|passwd|pwd|sslpassword)=)(?P<pw>[^&\s'\"]+)", re.IGNORECASE)


def redact(text: object) -> str:
    """``text`` with every password inside a URL (``scheme://user:PASSWORD@``, ``password=...``) as ``***``.

    >>> redact("postgres://bob:s3cret@db.example.com/shop?sslpassword=x")
    'postgres://bob:***@db.example.com/shop?sslpassword=***'
    """
    out = _URL_PASSWORD.sub(r"\g<head>:***@", str(text))
    return _QUERY_PASSWORD.sub(r"\g<key>***", out)
