"""Producer authentication: HMAC-SHA256 signatures under an agency's secret key.

A key is 32 random bytes, handed to the agency as 64 lowercase hex digits (the key
file's whole content). The HMAC key is the UTF-8 text of those digits; a signature
made with the 32 raw bytes they encode is accepted too, since both need the secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets

SIGNATURE_PREFIX = "v1="


def new_key() -> str:
    return secrets.token_hex(32)


def key_id(key: str) -> str:
    """A short public name for a key, safe to show and to log."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def sign(key: str, message: bytes) -> str:
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def _key_forms(key: str) -> list[bytes]:
    forms = [key.encode("utf-8")]
    with contextlib.suppress(ValueError):
        forms.append(bytes.fromhex(key))
    return forms


def verifies(key: str, message: bytes, signature: str) -> bool:
    """Constant-time check of a ``v1=`` signature over ``message``."""
    if not signature.startswith(SIGNATURE_PREFIX):
        return False
    # Compared as bytes: ``compare_digest`` refuses a str with non-ASCII characters
    # (TypeError), and a hostile signature may hold any text.
    given = signature[len(SIGNATURE_PREFIX) :].encode("utf-8", "backslashreplace")
    return any(
        hmac.compare_digest(hmac.new(form, message, hashlib.sha256).hexdigest().encode(), given)
        for form in _key_forms(key)
    )
