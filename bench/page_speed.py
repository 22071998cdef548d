"""Speed as felt: the board's page in Chromium, against a bare Streamlit page.

Two things a board member waits for, each timed ``--runs`` times (p50 and p95):

- **sign-in to scorecard**: from pressing "Sign in" to the scorecard drawn (a fresh
  browser context each time, so no cookie carries over);
- **date change**: from choosing another meeting in the sidebar ("Replay a meeting", which
  sets "Scorecard as at" and the knowledge day) to the new scorecard drawn.

"Drawn" is Streamlit's own signal that the script run is over (``stApp``'s
``data-test-script-state`` back to ``notRunning`` after a run) with the new as-at day on
the page. The baseline, measured in the same run with the same browser, is a bare
Streamlit page whose one widget changes a value (its rerun) and its first load. Both the
demo home and a national store of ``--events`` (``bench/national.py``, folded before the
clock starts) are measured, each served by ``scorecard ui`` as a user would run it.

    PYTHONPATH=. python bench/page_speed.py [--events 1000000] [--runs 20] [--demo-only]
                                            [--national .bench/national-1m]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PageTimeout

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.loopback import streamlit_page

TARGET_RATIO = 3.0  # p95 date change against the bare page's p95 rerun
TIMEOUT_MS = 60_000  # a sample that takes longer is counted as failed, not timed
FAILED = float("nan")  # a sample that timed out
BOARD = ("board", "board-bench-password")

BARE_PAGE = '''
import streamlit as st
choice = st.sidebar.selectbox("Value", ["first", "second"])
st.write(f"The value is {choice}")
'''

IDLE = ("() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app !== null && app.dataset.testScriptState === 'notRunning'; }")
WATCH = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  window.__ran = false;
  window.__done = false;
  if (!window.__watching) {
    window.__watching = true;
    // A quick run's two changes can reach one callback: the old values tell it ran.
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.oldValue === 'running') { window.__ran = true; }
      }
      const state = app.dataset.testScriptState;
      if (state === 'running') { window.__ran = true; }
      else if (window.__ran && state === 'notRunning') { window.__done = true; }
    }).observe(app, {attributes: true, attributeOldValue: true,
                     attributeFilter: ['data-test-script-state']});
  }
}"""


def figure(name: str, value: float, unit: str, target: str, met: bool | None,
           ratio: str = "") -> None:
    verdict = "" if met is None else ("met" if met else "MISSED")
    print(f"{name:<58} {value:>12,.1f} {unit:<9} {target:<24} {ratio:<26} {verdict}",
          flush=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank) in ms, of the samples that did not time out."""
    ordered = sorted(s for s in samples if s == s) or [FAILED]
    rank = max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))
    return statistics.median(ordered) * 1000, ordered[rank] * 1000


def scorecard_ui(home: Path) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, SCORECARD_HOME=str(home))
    for name in ("SCORECARD_EVENT_STORE", "SCORECARD_KAFKA_BOOTSTRAP"):
        env.pop(name, None)
    return [sys.executable, "-m", "scorecard.cli", "ui"], env


def bare_server(folder: Path) -> tuple[list[str], dict[str, str]]:
    script = folder / "bare.py"
    script.write_text(BARE_PAGE)
    return ([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless",
             "true", "--browser.gatherUsageStats", "false"], dict(os.environ))


def rerun(page: Page, act: Callable[[], None], shown: str) -> float:
    """Seconds from ``act`` to the end of the script run it caused, with ``shown`` on
    the page."""
    page.evaluate(WATCH)
    started = time.perf_counter()
    act()
    page.wait_for_function("() => window.__done === true", timeout=TIMEOUT_MS)
    page.locator("[data-testid=stMain]").get_by_text(shown).first.wait_for(
        state="attached", timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option").filter(has_text=option).first.click()


def choose_and_wait(page: Page, label: str, option: str, shown: str) -> float:
    """Seconds from choosing ``option`` of the selectbox ``label`` to the run it caused
    done, with ``shown`` on the page."""
    return rerun(page, partial(pick, page, label, option), shown)




def sample(measure: Callable[[], float]) -> float:
    try:
        return measure()
    except PageTimeout:
        return FAILED


def bare_load(browser: Any, url: str) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.get_by_text("The value is first").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
        return time.perf_counter() - started
    finally:
        context.close()


def bare_figures(browser: Any, url: str, runs: int) -> dict[str, list[float]]:
    loads = [sample(lambda: bare_load(browser, url)) for _ in range(runs)]
    reruns: list[float] = []
    while len(reruns) < runs + 1:  # a fresh page after a failed sample
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        page.get_by_text("The value is first").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
        value = "first"
        while len(reruns) < runs + 1:
            value = "second" if value == "first" else "first"
            reruns.append(sample(partial(choose_and_wait, page, "Value", value,
                                         f"The value is {value}")))
            if reruns[-1] != reruns[-1]:
                break
        context.close()
    return {"load": loads, "rerun": reruns[1:]}  # the first change warms the widget


def sign_in(page: Page, url: str, user: tuple[str, str]) -> float:
    """Seconds from pressing "Sign in" to the scorecard drawn (the session grant's
    redirect and the board's first run included)."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(user[0])
    page.get_by_role("textbox", name="Password").fill(user[1])
    page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {user[0]}").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Replay a meeting", exact=True).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def board_figures(browser: Any, url: str, user: tuple[str, str], meetings: list[date],
                  runs: int) -> dict[str, list[float]]:
    signs = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        signs.append(sample(partial(sign_in, context.new_page(), url, user)))
        context.close()
    changes: list[float] = []
    while len(changes) < runs + 1:  # a fresh sign-in after a failed sample
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        sign_in(page, url, user)
        shown = 0  # the page opens on the first meeting
        while len(changes) < runs + 1:
            shown = (shown + 1) % len(meetings)
            day = meetings[shown]
            text = f"{day.day} {day:%b %Y}"  # as the page writes it; also in "04 Nov 2015"
            changes.append(sample(partial(choose_and_wait, page, "Replay a meeting", text,
                                          text)))
            if changes[-1] != changes[-1]:
                break
        context.close()
    return {"sign-in": signs, "date change": changes[1:]}


def show(label: str, found: dict[str, list[float]], bare: dict[str, list[float]]) -> None:
    bare_p95 = percentiles(bare["rerun"])[1]
    bare_load = percentiles(bare["load"])[1]
    for kind, samples in found.items():
        p50, p95 = percentiles(samples)
        failed = sum(1 for s in samples if s != s)
        if failed:
            print(f"# {label}, {kind}: {failed} of {len(samples)} samples timed out "
                  f"(over {TIMEOUT_MS / 1000:.0f} s) and are left out", flush=True)
        figure(f"page {kind} p50, {label}", p50, "ms", "", None,
               f"{p50 / percentiles(bare['rerun'])[0]:.1f}x bare rerun p50")
        if kind != "sign-in":
            ratio = p95 / bare_p95
            figure(f"page {kind} p95, {label}", p95, "ms",
                   f"<= {TARGET_RATIO:g}x bare rerun p95", ratio <= TARGET_RATIO,
                   f"{ratio:.1f}x bare rerun ({bare_p95:.0f} ms)")
        else:
            figure(f"page {kind} p95, {label}", p95, "ms", "", None,
                   f"{p95 / bare_p95:.1f}x bare rerun, {p95 / bare_load:.1f}x bare load")


def demo_home(folder: Path) -> tuple[Path, tuple[str, str], list[date]]:
    from scorecard.bootstrap import Home
    from scorecard.demo import build_demo_home
    from scorecard.demo.build import demo_password

    home = Home(folder)
    build_demo_home(home)
    with home.projected():
        pass
    meetings = [date(2015, 12, 16), date(2015, 11, 4)]
    return folder, ("board", demo_password("board")), meetings


def national_home(folder: Path, events: int) -> tuple[Path, tuple[str, str], list[date]]:
    """A national store of ``events`` in ``folder``, built there unless a run with
    ``--national DIR`` built it already (then only folded up to date)."""
    from bench.national import build_store
    from scorecard.bootstrap import Home

    home = Home(folder)
    built = (folder / "built").exists()
    app = home.open()
    started = time.perf_counter()
    if not built:
        saved = build_store(app, events)
        app.add_user(BOARD[0], "board", None, BOARD[1], by="bench")
    with home.projected(app):  # folded before the clock starts, as a running service keeps it
        pass
    if not built:
        (folder / "built").write_text(f"{saved}\n")
        print(f"# built and folded a national store of {saved:,} events in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    else:
        print(f"# reused the national store in {folder} (folded in "
              f"{time.perf_counter() - started:.0f} s)", flush=True)
    today = datetime.now(UTC).date()
    meetings = sorted((m.date for m in app.plan.meetings if m.date <= today), reverse=True)
    return folder, BOARD, meetings[:2]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--demo-only", action="store_true")
    parser.add_argument("--national", type=Path, help=(
        "keep the national store in this folder and reuse it on the next run (built "
        "once: about 12 minutes at 1M events here)"))
    options = parser.parse_args()
    (Path.cwd() / ".bench").mkdir(exist_ok=True)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, page speed in Chromium, "
          f"{options.runs} runs each", flush=True)
    with tempfile.TemporaryDirectory(dir=Path.cwd() / ".bench") as name, \
            sync_playwright() as driver:
        folder = Path(name)
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        homes: list[tuple[str, Callable[[], tuple[Path, tuple[str, str], list[date]]]]] = [
            ("demo", partial(demo_home, folder / "demo"))]
        if not options.demo_only:
            label = f"{options.events / 1e6:g}M events"
            homes.append((label, partial(national_home, options.national or
                                         folder / "national", options.events)))
        for label, build in homes:
            home, user, meetings = build()
            # The baseline just before each home's figures: the load on this shared
            # machine drifts over the minutes a national store takes to build.
            with streamlit_page(*bare_server(folder), port_option="--server.port") as page:
                bare = bare_figures(browser, page.url, options.runs)
            for kind in ("load", "rerun"):
                p50, p95 = percentiles(bare[kind])
                figure(f"bare Streamlit page {kind} p50 / p95 (before {label})", p50, "ms",
                       "baseline", None, f"p95 {p95:.0f} ms")
            with streamlit_page(*scorecard_ui(home)) as page:
                found = board_figures(browser, page.url, user, meetings, options.runs)
            show(label, found, bare)
            print(f"# load average {os.getloadavg()[0]:.1f} after {label}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
