"""Small pieces every page uses: calling the API with a plain message in place of a failure,
the sidebar, and page-view logging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from volpred.serving.dashboard import data, events
from volpred.serving.dashboard.client import ApiConfig, ApiRequestError, ApiUnavailable

T = TypeVar("T")


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """`fn(*args)`, or None after showing why not: a warning when the API is down or slow, an
    error when it refused the request. The caller skips its element and the page goes on."""
    try:
        return fn(*args, **kwargs)
    except ApiUnavailable as exc:
        st.warning(
            f"{what} is not available: {exc}. The rest of the page still works.",
            icon=":material/cloud_off:",
        )
    except ApiRequestError as exc:
        st.error(f"{what} failed: {exc}", icon=":material/error:")
    return None


def sidebar(cfg: ApiConfig) -> dict[str, Any] | None:
    """The API's URL, whether it is ready and which model it serves; returns /ready's answer
    (None when the API cannot be reached)."""
    with st.sidebar:
        st.caption(f"API: {cfg.base_url}" + (" (with API key)" if cfg.api_key else ""))
        try:
            info = data.ready(cfg)
        except ApiRequestError as exc:
            st.warning(f"API unreachable: {exc}")
            info = None
        else:
            if info.get("ready"):
                st.success(f"Model {info.get('model_version')} ready")
                st.caption(
                    f"Data {info.get('data_first')} .. {info.get('data_as_of')}"
                    + (" - synthetic sample" if info.get("synthetic_data") else "")
                )
                if info.get("reload_error"):
                    st.warning(f"Last reload failed: {info['reload_error']}")
            else:
                st.error(f"API not ready: {info.get('error', 'no model')}")
        if st.button("Refresh data", help="forget cached answers and ask the API again"):
            data.clear()
            events.event("refresh", session=events.session_id(st.session_state))
            st.rerun()
    return info


def page_view(page: str) -> None:
    """Log a page view once per visit (not on every rerun a widget causes)."""
    sid = events.session_id(st.session_state)
    if st.session_state.get("volpred_page") != page:
        st.session_state["volpred_page"] = page
        events.event("page_view", page=page, session=sid)


def input_changed(name: str, key: str) -> Callable[[], None]:
    """An `on_change` callback logging the widget's new value."""

    def log_it() -> None:
        events.event(
            "input_changed",
            input=name,
            value=st.session_state.get(key),
            session=events.session_id(st.session_state),
        )

    return log_it


def persist(*keys: str) -> None:
    """Keep these widgets' values across page switches. Streamlit forgets a widget's value when
    a run does not draw it (the analyst is on another page); called at the top of a page, this
    copies each value aside, or puts the copy back when the widget was forgotten."""
    for key in keys:
        if key in st.session_state:
            st.session_state[f"kept_{key}"] = st.session_state[key]
        elif f"kept_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"kept_{key}"]
