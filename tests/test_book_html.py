"""The built book (``_build/html``) opened page by page in headless Chromium.

For every page of ``_toc.yml`` this checks that it was built, that the browser shows it
without JavaScript errors, that its internal links and anchors resolve, that its local
images and other resources load, that MathJax (served by the book itself) typesets every formula
without an error, and that every chapter shows at least one figure.

Needs the built book (``make book``), Debian's ``chromium`` and Playwright for Python (its
bundled driver only: no ``playwright install``). Without them the tests skip, except in CI
(``CI=true``) where they fail. ``TCCLIP_BOOK_SCREENSHOTS=<dir>`` saves a full-page PNG of
every page there; ``TCCLIP_BOOK_HTML=<dir>`` checks another build than ``_build/html``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("TCCLIP_BOOK_HTML", ROOT / "_build" / "html"))  # override: testing the test
TOC = ROOT / "_toc.yml"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Pages that need not show a figure: everything but the chapters proper.
NO_FIGURE_NEEDED = re.compile(r"^(book/.*|notebooks/00_preface|index)$")
MIN_FIGURE_PX = 40  # an image or svg smaller than this (either side) is an icon, not a figure


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str):
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the book test must run in CI)")
    pytest.skip(reason)


def toc_docnames() -> list[str]:
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(re.sub(r"\.(md|ipynb)$", "", entry["file"]))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return names


PAGES = toc_docnames()


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


# --------------------------------------------------------------------------------------
# Fixtures: the built book, a local web server, a browser
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html_dir() -> Path:
    if not (HTML / "index.html").is_file():
        skip_or_fail(f"the book is not built ({HTML} has no index.html; run `make book`)")
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def base_url(html_dir):
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def local_file(html_dir: Path, base_url: str, url: str) -> Path | None:
    """The file a same-origin URL maps to (None for other origins)."""
    if not url.startswith(base_url):
        return None
    path = unquote(urlsplit(url).path).lstrip("/")
    target = html_dir / path
    if path == "" or target.is_dir():
        target = target / "index.html"
    return target


@functools.lru_cache(maxsize=None)
def anchors_of(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""", text))


def is_external_console_error(msg, base_url: str) -> bool:
    """Errors caused by blocked requests to other hosts (CDNs...) are not the book's fault."""
    location = (msg.location or {}).get("url", "") if hasattr(msg, "location") else ""
    text = msg.text
    if location and not location.startswith(base_url) and (
        "Failed to load resource" in text or "net::ERR" in text
    ):
        return True
    # e.g. "Refused to load the script 'https://...'" or a blocked font
    urls = re.findall(r"https?://[^\s'\"()]+", text)
    return bool(urls) and all(not u.startswith(base_url) for u in urls) and (
        "net::ERR" in text or "Failed to load" in text or "Refused to" in text
    )


def inspect_page(browser, base_url: str, docname: str) -> dict:
    """Open one page; return what went wrong and what it contains."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = {"pageerror": [], "console": [], "http": []}

    def route(r):  # the test machine may be offline: never wait for other hosts
        if r.request.url.startswith(base_url) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: problems["pageerror"].append(str(exc)))
    page.on(
        "console",
        lambda msg: problems["console"].append(msg)
        if msg.type == "error" and not is_external_console_error(msg, base_url)
        else None,
    )
    page.on(
        "response",
        lambda resp: problems["http"].append(f"{resp.status} {resp.url}")
        if resp.url.startswith(base_url) and resp.status >= 400
        else None,
    )
    try:
        page.goto(base_url + docname + ".html", wait_until="load", timeout=60_000)
        # make lazy images load, then wait for every image to settle (load or error)
        page.evaluate(
            """async () => {
                const imgs = Array.from(document.images);
                imgs.forEach(i => { i.loading = 'eager'; });
                await Promise.all(imgs.map(i => (i.complete ? null : new Promise(r => {
                    i.addEventListener('load', r); i.addEventListener('error', r);
                    setTimeout(r, 10000);
                }))));
            }"""
        )
        page.wait_for_timeout(200)  # let late scripts report their errors
        # MathJax is served from the book (_static/mathjax): wait for its first typesetting pass
        info_math = page.evaluate(
            """async () => {
                const maths = document.querySelectorAll('.math').length;
                if (!maths) return {maths: 0};
                if (!window.MathJax || !window.MathJax.startup) return {maths, loaded: false};
                await window.MathJax.startup.promise;
                return {maths, loaded: true, rendered: document.querySelectorAll('mjx-container').length,
                        errors: Array.from(document.querySelectorAll('mjx-merror'))
                            .map(e => e.getAttribute('data-mjx-error') || e.textContent)};
            }"""
        )
        info = page.evaluate(
            """(minPx) => {
                const article = document.querySelector('article.bd-article')
                    || document.querySelector('main') || document.body;
                const big = el => { const b = el.getBoundingClientRect();
                                    return b.width >= minPx && b.height >= minPx; };
                const figures = [
                    ...Array.from(article.querySelectorAll('img'))
                        .filter(i => i.naturalWidth > 0 && big(i)),
                    ...Array.from(article.querySelectorAll('svg'))
                        .filter(s => !s.closest('button, a.headerlink, .headerlink') && big(s)),
                ].length;
                return {
                    title: document.title,
                    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
                    resources: [
                        ...Array.from(document.querySelectorAll('link[href]')).map(l => l.href),
                        ...Array.from(document.querySelectorAll('script[src]')).map(s => s.src),
                    ],
                    brokenImages: Array.from(document.images)
                        .filter(i => i.naturalWidth === 0)
                        .map(i => i.currentSrc || i.src),
                    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
                    figures: figures,
                    textLength: article.innerText.length,
                };
            }""",
            MIN_FIGURE_PX,
        )
        shots = os.environ.get("TCCLIP_BOOK_SCREENSHOTS")
        if shots:
            out = Path(shots) / (docname.replace("/", "__") + ".png")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
    finally:
        context.close()
    info["problems"] = problems
    info["math"] = info_math
    return info


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_every_toc_page_was_built(html_dir):
    missing = [d for d in PAGES if not (html_dir / f"{d}.html").is_file()]
    assert not missing, f"pages in _toc.yml missing from the build: {missing}"


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_cleanly(docname, html_dir, base_url, browser):
    if not (html_dir / f"{docname}.html").is_file():
        pytest.fail(f"{docname}.html was not built")
    info = inspect_page(browser, base_url, docname)
    problems = info["problems"]
    here = f"{docname}.html"
    errors: list[str] = []

    errors += [f"JavaScript error: {e}" for e in problems["pageerror"]]
    errors += [
        f"console error: {m.text} ({(m.location or {}).get('url', '')})" for m in problems["console"]
    ]
    errors += [f"HTTP error: {h}" for h in problems["http"]]

    local_broken = [src for src in info["brokenImages"] if not src or src.startswith(base_url)]
    errors += [f"broken image: {src}" for src in local_broken]

    own_ids = set(info["ids"])
    page_url = base_url + docname + ".html"
    for href in sorted(set(info["links"]) | set(info["resources"])):
        if not href.startswith(base_url):
            continue  # external (or mailto:, javascript:)
        target_url, fragment = urldefrag(href)
        target = local_file(html_dir, base_url, target_url)
        if target is None:
            continue
        if not target.is_file():
            errors.append(f"broken link: {href} -> no file {target.relative_to(html_dir)}")
            continue
        if fragment and target.suffix == ".html":
            fragment = unquote(fragment)
            ids = own_ids if target_url == page_url else anchors_of(target)
            if fragment not in ids:
                errors.append(f"broken anchor: {href}")

    if not NO_FIGURE_NEEDED.match(docname) and info["figures"] == 0:
        errors.append("a chapter must show at least one figure (an image or an svg)")
    math = info["math"]
    if math["maths"] and not math["loaded"]:
        errors.append(f"the page has {math['maths']} formulas but MathJax did not load")
    elif math["maths"]:
        if math["rendered"] < math["maths"]:
            errors.append(f"MathJax typeset {math['rendered']} of {math['maths']} formulas")
        errors += [f"MathJax error: {e}" for e in math["errors"]]
    if info["textLength"] < 200:
        errors.append(f"the page is nearly empty ({info['textLength']} characters)")

    assert not errors, f"{here}:\n  " + "\n  ".join(errors)


def test_chapters_offer_ipynb_download(html_dir):
    chapters = [d for d in PAGES if d.startswith("notebooks/")]
    missing = [d for d in chapters if not (html_dir / "_sources" / f"{d}.ipynb").is_file()]
    assert not missing, f"no .ipynb download for: {missing}"
    for d in chapters:
        html = (html_dir / f"{d}.html").read_text(encoding="utf-8")
        assert f"_sources/{d}.ipynb" in html, f"{d}.html has no .ipynb download link"
