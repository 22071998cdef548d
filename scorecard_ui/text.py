"""Text from agencies (or anyone) shown in Streamlit's Markdown elements, as text.

``st.error``, ``st.success`` and the like render Markdown: an agency's field value such
as ``![x](https://tracker.example/p.png)`` would make every viewer's browser fetch that
image, and ``[click](...)`` would be a link in the scorecard's own voice. Every ASCII
punctuation character is backslash-escaped (CommonMark shows an escaped character as
itself), so nothing in the text is Markdown, a Streamlit directive (``:red[...]``,
``:material/...:``) or a bare URL to autolink; newlines become spaces, and a lone
surrogate its escape (``domain.text.visible``), so the text can always be sent.
"""

from __future__ import annotations

import string

from domain.text import visible

_ESCAPED = {ord(c): "\\" + c for c in string.punctuation}
_ESCAPED.update({ord("\n"): " ", ord("\r"): " "})


def as_text(text: str) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it exactly, and only as text."""
    return visible(text).translate(_ESCAPED)
