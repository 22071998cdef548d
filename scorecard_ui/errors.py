"""What a user sees when a page fails: a reference id, never a traceback.

The traceback, with its server paths and whatever data was in the failing line, goes to
the server's log under the same reference, where an administrator can find it.
Streamlit's own error details are off for users too (``client.showErrorDetails =
"none"`` in ``.streamlit/config.toml`` and ``scorecard ui``).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st
from streamlit.errors import FragmentHandledException

P = ParamSpec("P")

LOG = logging.getLogger("scorecard.page")


def report_failure(error: BaseException) -> str:
    """Log ``error`` with a new reference id, show the user only that id; the id."""
    reference = secrets.token_hex(4)
    LOG.error("page failed, reference %s", reference, exc_info=error)
    st.error(f"Something went wrong on this page (reference {reference}). Nothing you "
             "entered was lost; give the reference to your administrator, who can find "
             "the details in the server's log.", icon=":material/error:")
    return reference


@contextmanager
def page_boundary() -> Iterator[None]:
    """Catch any failure of the page (Streamlit's reruns and stops pass through: they
    are not ``Exception``)."""
    try:
        yield
    except FragmentHandledException:
        pass  # a fragment's own boundary (``guarded``) reported it already
    except Exception as error:  # the boundary: everything is reported
        report_failure(error)


def guarded(function: Callable[P, None]) -> Callable[P, None]:
    """``function`` inside its own boundary: for a fragment, whose failures Streamlit
    shows with its traceback before the page's boundary could see them."""
    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with page_boundary():
            function(*args, **kwargs)
    return run
