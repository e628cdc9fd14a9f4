"""The documentation site: `mkdocs build --strict` passes, and its pages load in a real browser.

The build fails on a broken link, anchor or missing page (mkdocs.yml `validation`,
scripts/mkdocs_hooks.py). The built site is served on a free local port and a headless
Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium) loads the home page,
the environment card and a page of figures: the title is the page's, every image loaded and
the console shows no error. Skips when mkdocs (the `docs` extra), selenium or the browser is
missing; `.ci/run` installs them all.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Whatever the browser logs is a failure, except the repository facts (stars, forks) that the
# theme's header asks GitHub for: the test machine may be offline.
ALLOWED = ("api.github.com/repos/",)
PAGES = [
    # (path under the site, the page's <title>, images it must show at least)
    ("", "dsa-pettingzoo", 0),
    ("environment/", "Environment card - dsa-pettingzoo", 0),
    ("results/", "Results - dsa-pettingzoo", 2),
]

pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra")
webdriver = pytest.importorskip("selenium.webdriver", reason="the docs extra")
Service = pytest.importorskip("selenium.webdriver.chrome.service").Service


def _find(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


CHROMIUM = _find("chromium", "chromium-browser")
DRIVER = _find("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with --strict, served on 127.0.0.1: its base URL."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # the browser drops a request it no longer needs (leaving a page): not an error
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    handler = functools.partial(Quiet, directory=str(out))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_strict_build_and_serve(site):
    import urllib.request

    with urllib.request.urlopen(site + "environment/") as response:
        assert response.status == 200


@pytest.mark.parametrize("path,title,min_images", PAGES, ids=[p[1] for p in PAGES])
def test_page_loads_in_a_browser(site, browser, path, title, min_images):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(site + path)
    assert browser.title == title
    images = browser.execute_script(
        "return Array.from(document.images, i => [i.currentSrc || i.src, i.complete,"
        " i.naturalWidth]);"
    )
    assert len(images) >= min_images
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"images that did not load: {broken}"
    errors = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not any(url in entry["message"] for url in ALLOWED)
    ]
    assert not errors, errors
