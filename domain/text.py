"""Text that can always be stored, encoded and shown, whatever a message contained.

JSON may escape a lone surrogate (``"\\ud800"``), which Python decodes into a ``str``
that UTF-8 cannot encode: stored or printed as it is, it raises ``UnicodeEncodeError``
far from where it came in. Anything taken from a message into an error, a kept
rejection or a log goes through ``visible`` first.
"""

from __future__ import annotations


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a code point UTF-8 cannot encode (U+D800 to U+DFFF)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_lone_surrogate(text: str) -> str:
    """The first lone surrogate of ``text``, written as its JSON escape (``\\ud800``)."""
    for character in text:
        if 0xD800 <= ord(character) <= 0xDFFF:
            return f"\\u{ord(character):04x}"
    return ""


def visible(text: str, limit: int | None = None) -> str:
    """``text`` with each lone surrogate written as its escape, cut to ``limit``
    characters (marked with an ellipsis) when a limit is given."""
    if has_lone_surrogate(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 1, 0)] + "…"
    return text
