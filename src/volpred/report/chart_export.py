"""Static images (PNG, SVG) of plotly figures with kaleido, one browser per process.

Starting Chromium costs ~2.4 s and an export ~0.2 s, so one browser serves every figure of a
process: the report's batch and every `/plot` request of a long-running API worker. Kaleido's
own `start_sync_server()` would do that but it waits forever when the browser is missing or
dies, so this module runs a `kaleido.Kaleido` on its own event-loop thread and waits for each
result with a timeout instead (a timed-out or broken browser is torn down and the next call
starts a fresh one). Calls are serialised by a lock: one image at a time per process.
Kaleido's page reload after every image is skipped for most images (see `RELOAD_EVERY`): it
doubled the export time.

The browser is looked for *before* kaleido is involved (`find_browser`) and a missing one is a
`BrowserMissingError` that says what to install. Chromium runs with `--no-sandbox`:
choreographer adds it whenever `enable_sandbox` is False (its default, passed explicitly
here), which is what running as root needs and harmless otherwise. The browser is closed at
interpreter exit; a forked child (gunicorn worker) never reuses its parent's browser.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from volpred.config import Settings

log = logging.getLogger(__name__)

ImageFormat = Literal["png", "svg"]
#: Executables looked for on PATH when no browser is configured, in this order.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`) or set VOLPRED_CHROMIUM_PATH "
    "to a Chromium or Chrome executable"
)
#: Their INFO lines (every tab, temp dir and render) would bury volpred's own log.
QUIET_LOGGERS = ("kaleido", "choreographer", "logistro", "browser_proc")
START_TIMEOUT = 60.0  # seconds for the browser to come up
RENDER_TIMEOUT = 60.0  # seconds for one image

T = TypeVar("T")


class BrowserMissingError(RuntimeError):
    """No usable Chromium for kaleido; the message says what to install or set."""


class FigureExportError(RuntimeError):
    """The browser failed or timed out while exporting a figure."""


def find_browser(source: Settings | Path | str | None = None) -> Path:
    """The browser kaleido will drive: an explicit path (or `settings.chromium_path`) when
    given, else the first of `BROWSER_NAMES` on PATH. Raises `BrowserMissingError`."""
    plain = source is None or isinstance(source, (str, Path))
    explicit = source if plain else source.chromium_path  # type: ignore[union-attr]
    if explicit is not None:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
        found = shutil.which(str(explicit))
        if found:
            return Path(found).resolve()
        raise BrowserMissingError(
            f"no browser for figure export at {str(explicit)!r} (VOLPRED_CHROMIUM_PATH): "
            f"{INSTALL_HINT}"
        )
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found).resolve()
    raise BrowserMissingError(
        f"no browser for figure export: none of {', '.join(BROWSER_NAMES)} is on PATH; "
        f"{INSTALL_HINT}"
    )


def _quiet_libraries() -> None:
    """Kaleido's and choreographer's loggers to WARNING, unless someone configured them."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@dataclass(frozen=True)
class ImageSpec:
    """One figure to export and how."""

    fig: go.Figure | dict[str, Any]
    fmt: ImageFormat = "png"
    width: int = 900
    height: int = 500
    scale: float = 1.0

    def opts(self) -> dict[str, Any]:
        return {"format": self.fmt, "width": self.width, "height": self.height, "scale": self.scale}


@dataclass
class FigureExporter:
    """A Chromium driven by kaleido on a private event-loop thread. Thread-safe; started on
    first use; `close()` stops the browser (a later call starts a new one)."""

    browser: Path
    start_timeout: float = START_TIMEOUT
    render_timeout: float = RENDER_TIMEOUT
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _kaleido: Any = field(default=None, repr=False)
    _pid: int = field(default=0, repr=False)

    @property
    def running(self) -> bool:
        return self._kaleido is not None and self._pid == os.getpid()

    def start(self) -> None:
        with self._lock:
            if self._pid and self._pid != os.getpid():
                self._forget()  # a fork: the parent's thread and browser are not ours
            if self._kaleido is not None:
                return
            if not (self.browser.is_file() and os.access(self.browser, os.X_OK)):
                raise BrowserMissingError(f"browser {self.browser} is gone: {INSTALL_HINT}")
            _quiet_libraries()
            started = time.perf_counter()
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="volpred-kaleido", daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()
            try:
                self._kaleido = self._run(self._open(), self.start_timeout, "starting the browser")
            except BaseException:
                self._stop_loop()
                raise
            log.info(
                "figure export: browser %s started in %.2f s",
                self.browser,
                time.perf_counter() - started,
            )

    async def _open(self) -> Any:
        k = _kaleido_class()(
            n=1,
            timeout=self.render_timeout,
            path=str(self.browser),
            mathjax=False,  # no CDN fetch: the machine may be offline, figures use no LaTeX
            enable_sandbox=False,  # -> --no-sandbox, required as root
        )
        await k.open()
        return k

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError as exc:
            future.cancel()
            raise FigureExportError(f"{what} took more than {timeout:g} s") from exc

    def to_image(self, spec: ImageSpec) -> bytes:
        """One image. A figure plotly.js cannot draw is an error at once (the browser is
        fine); on a browser failure (crash, timeout) the browser is restarted once and the
        export retried, so a crashed Chromium costs a long-running API one slow request."""
        from kaleido.errors import JavascriptError, KaleidoError

        with self._lock:
            for attempt in (1, 2):
                self.start()
                try:
                    return self._run(
                        self._kaleido.calc_fig(spec.fig, opts=spec.opts()),
                        self.render_timeout,
                        "exporting a figure",
                    )
                except (KaleidoError, JavascriptError) as exc:
                    raise FigureExportError(f"plotly.js could not draw the figure: {exc}") from exc
                except Exception as exc:  # noqa: BLE001 - the browser failed: restart once
                    self.close()
                    if attempt == 2:
                        if isinstance(exc, FigureExportError):
                            raise
                        raise FigureExportError(f"figure export failed: {exc}") from exc
                    log.warning("figure export failed (%s); restarting the browser", exc)
            raise AssertionError("unreachable")

    def to_images(self, specs: Sequence[ImageSpec]) -> list[bytes]:
        """Several images, in order, with the same browser."""
        with self._lock:
            return [self.to_image(spec) for spec in specs]

    def close(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._forget()
                return
            if self._kaleido is not None and self._loop is not None:
                try:
                    self._run(self._kaleido.close(), 15, "closing the browser")
                except Exception as exc:  # noqa: BLE001 - closing must not raise at exit
                    log.debug("figure export: closing the browser failed: %s", exc)
            self._kaleido = None
            self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            # Cancel what the browser left running (its watchdog) before the loop stops.
            future = asyncio.run_coroutine_threadsafe(_cancel_pending(), self._loop)
            try:
                future.result(timeout=5)
            except Exception as exc:  # noqa: BLE001 - best effort while tearing down
                log.debug("figure export: cancelling pending tasks failed: %s", exc)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
        self._loop, self._thread, self._kaleido, self._pid = None, None, None, 0

    def _forget(self) -> None:
        self._loop, self._thread, self._kaleido, self._pid = None, None, None, 0


#: Kaleido reloads its page after every image (~0.2 s, as long as rendering one); the render
#: itself starts from a clean plot div, so reloading every Nth image only bounds memory in a
#: long-running process. Measured: PNG bytes identical, SVG identical up to plotly's random ids.
RELOAD_EVERY = 25


def _kaleido_class() -> type:
    import kaleido

    base = kaleido.Kaleido
    if not hasattr(base, "_return_kaleido_tab"):  # another kaleido: keep its behaviour
        return base

    class _Kaleido(base):  # type: ignore[misc, valid-type]
        _renders = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._renders += 1
            if self._renders % RELOAD_EVERY == 0:
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return _Kaleido


async def _cancel_pending() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


_shared: FigureExporter | None = None
_shared_lock = threading.Lock()


def exporter(browser: Settings | Path | str | None = None) -> FigureExporter:
    """The process-wide exporter (created on first use; a different browser replaces it)."""
    global _shared
    path = find_browser(browser)
    with _shared_lock:
        if _shared is not None and _shared.browser != path:
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = FigureExporter(path)
        return _shared


def to_image(
    fig: go.Figure | dict[str, Any],
    fmt: ImageFormat = "png",
    width: int = 900,
    height: int = 500,
    scale: float = 1.0,
    *,
    browser: Settings | Path | str | None = None,
) -> bytes:
    """PNG or SVG bytes of `fig` from the process's shared browser (started on first call)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported image format {fmt!r}: png or svg")
    return exporter(browser).to_image(ImageSpec(fig, fmt, width, height, scale))


def to_images(
    specs: Sequence[ImageSpec], *, browser: Settings | Path | str | None = None
) -> list[bytes]:
    """Many figures with one browser (the report's batch)."""
    return exporter(browser).to_images(specs)


def shutdown() -> None:
    """Stop the shared browser, if any (registered at exit)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


atexit.register(shutdown)
