"""End to end in a real browser: ``streamlit run`` on a free port over an index of seeds/ plus
hostile articles, driven by Debian's chromium through chromedriver (no downloaded browser).
Saves screenshots under test-artifacts/ and prints the query-to-results times. Right-to-left
order is checked where the browser lays it out: the x position of characters (``_x``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.store import open_store

from .conftest import ARTIFACTS, ROOT, SEEDS, record_reliability
from .es_server import free_port

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = {
    "id": "evil-1",
    "source": "مصدر <b>عريض</b>",
    "title": "<script>window.__xss=1</script> خبر طاجيكستان \u202eعكس",
    "body": 'نص عن طاجيكستان <img src=x onerror="window.__xss=2"> و [رابط](javascript:window.__xss=3) '
    '<a href="javascript:window.__xss=4">اضغط</a> **عريض** \u202eمقلوب',
    "url": "javascript:window.__xss=5",
}
OVERRIDE = {  # U+202E (right-to-left override) in the title, body and source
    "id": "evil-2",
    "source": "\u202eReuters",
    "published_at": "2016-03-05",
    "title": "خبر عن بيروت \u202eevil",
    "body": "نص عن بيروت \u202eevil بعده كلمات",
}

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)",
)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    d = tmp_path_factory.mktemp("e2e")
    hostile = d / "hostile"
    hostile.mkdir()
    (hostile / "evil.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in (EVIL, OVERRIDE)), encoding="utf-8"
    )
    assert JobRunner(open_store(d, backend="lancedb"), embedder).run(config_from_paths([SEEDS, hostile])).added == 7
    port = free_port()
    env = dict(os.environ, ARCHIVE_DATA_DIR=str(d))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "search_ui" / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1280,1600",
        "--lang=ar",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def _wait(driver: object, css: str, timeout: float = 120) -> list:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.find_elements(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]
        if found:
            return found
        time.sleep(0.05)
    driver.save_screenshot(str(ARTIFACTS / "timeout.png"))  # type: ignore[attr-defined]
    raise AssertionError(f"no {css!r} within {timeout}s")


def _search(driver: object, text: str) -> float:
    """Type a query and press Enter; seconds until the highlighted results are drawn."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = _wait(driver, 'input[aria-label="ابحث · Search"]')[0]
    before = [e.get_attribute("innerHTML") for e in driver.find_elements(By.CSS_SELECTOR, ".results")]  # type: ignore[attr-defined]
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    t0 = time.perf_counter()
    box.send_keys(Keys.ENTER)
    deadline = t0 + 120
    while time.perf_counter() < deadline:  # until new results are drawn (not the previous query's)
        try:
            now = driver.find_elements(By.CSS_SELECTOR, ".results .result")  # type: ignore[attr-defined]
            if now and [e.get_attribute("innerHTML") for e in driver.find_elements(By.CSS_SELECTOR, ".results")] != before:  # type: ignore[attr-defined]
                return time.perf_counter() - t0
        except StaleElementReferenceException:  # redrawn between finding and reading: look again
            pass
        time.sleep(0.02)
    driver.save_screenshot(str(ARTIFACTS / "timeout.png"))  # type: ignore[attr-defined]
    raise AssertionError(f"no new results for {text!r}")


def _x(driver: object, css: str, needle: str, offset: int = 0) -> float:
    """Left edge on screen of character ``offset`` of the first ``needle`` in the text under ``css``."""
    x = driver.execute_script(
        """  // type: ignore[attr-defined]
        const [css, needle, offset] = arguments;
        for (const root of document.querySelectorAll(css)) {
          const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          while (walk.nextNode()) {
            const node = walk.currentNode, i = node.data.indexOf(needle);
            if (i >= 0) {
              const r = document.createRange();
              r.setStart(node, i + offset); r.setEnd(node, i + offset + 1);
              return r.getBoundingClientRect().left;
            }
          }
        }
        return null;""",
        css,
        needle,
        offset,
    )
    assert x is not None, f"{needle!r} not under {css!r}"
    return float(x)


def _model_loaded(driver: object, timeout: float = 180) -> float:
    """Seconds until the app has stopped saying the model is loading and has drawn the mode's own
    results (ranked by meaning too) in place of the keyword ones."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            loading = [
                e
                for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')  # type: ignore[attr-defined]
                if "Loading the semantic model" in e.text
            ]
            ranked = [
                e
                for e in driver.find_elements(By.CSS_SELECTOR, ".results")  # type: ignore[attr-defined]
                if "semantic rank #" in (e.get_attribute("innerHTML") or "")
            ]
        except StaleElementReferenceException:  # the page is being redrawn
            loading, ranked = [True], []
        if not loading and ranked:
            return time.perf_counter() - t0
        time.sleep(0.1)
    raise AssertionError("the model did not load")


def test_search_highlight_permalink_in_a_real_browser(app_url: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(app_url)  # type: ignore[attr-defined]  # the first page view starts loading the model
    first = _search(d, "قاعدة همدان الجوية")  # keyword results while the model loads
    marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, ".results .result mark")]  # type: ignore[attr-defined]
    assert "همدان" in marks and "قاعدة" in marks
    assert d.find_element(By.CSS_SELECTOR, ".results").get_attribute("dir") == "rtl"  # type: ignore[attr-defined]
    hybrid = first + _model_loaded(d)
    warm = sorted(_search(d, q) for q in ("الجيش السوري", "روسيا ايران", "سليماني موسكو", "قاعدة همدان"))
    d.save_screenshot(str(ARTIFACTS / "search.png"))  # type: ignore[attr-defined]
    assert "q=" in d.current_url  # type: ignore[attr-defined]  # the URL follows the query
    print(
        f"\nquery → results drawn in the browser: first {first:.2f}s (keyword, model loading), hybrid results "
        f"{hybrid:.1f}s, warm median {warm[len(warm) // 2]:.2f}s (min {warm[0]:.2f}s, max {warm[-1]:.2f}s)"
    )

    link = d.find_element(By.CSS_SELECTOR, ".results .result .title a")  # type: ignore[attr-defined]
    href = link.get_attribute("href")
    assert "article=" in href and "q=" in href
    d.get(href)  # type: ignore[attr-defined]  # a permalink opens the article, marked, in a fresh session
    _wait(d, ".article .body")
    assert [m.text for m in d.find_elements(By.CSS_SELECTOR, ".article mark")]  # type: ignore[attr-defined]
    similar = _wait(d, ".results ul li a")
    assert len(similar) == 5
    d.save_screenshot(str(ARTIFACTS / "article.png"))  # type: ignore[attr-defined]


def test_hostile_article_text_renders_inert(app_url: str, browser: object) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{app_url}/?q={quote('طاجيكستان')}&mode=keyword")  # type: ignore[attr-defined]
    result = _wait(d, ".results .result")[0]
    assert "<script>window.__xss=1</script>" in result.find_element(By.CSS_SELECTOR, ".title").text  # shown as text
    assert d.find_elements(By.CSS_SELECTOR, ".results script, .results img, .results b") == []  # type: ignore[attr-defined]
    d.get(f"{app_url}/?article=evil-1&q={quote('طاجيكستان')}")  # type: ignore[attr-defined]
    body = _wait(d, ".article .body")[0]
    assert "<img src=x onerror" in body.text and "[رابط](javascript:" in body.text and "**عريض**" in body.text
    assert d.find_elements(By.CSS_SELECTOR, ".article img, .article script, .article strong") == []  # type: ignore[attr-defined]
    assert [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, ".article a")] == []  # type: ignore[attr-defined]
    time.sleep(0.5)
    assert d.execute_script("return window.__xss === undefined")  # type: ignore[attr-defined]
    with pytest.raises(NoAlertPresentException):
        d.switch_to.alert.text  # type: ignore[attr-defined]  # noqa: B018
    d.save_screenshot(str(ARTIFACTS / "hostile.png"))  # type: ignore[attr-defined]
    record_reliability(
        "output safety in a browser",
        "an article with <script>, <img onerror>, javascript: links and URL, "
        "Markdown and U+202E, searched and opened in headless chromium",
        "all shown as text; no script ran, no image, link or bold element was created",
    )


def _type_date(driver: object, which: int, digits: str) -> object:
    """Type ``digits`` (yyyymmdd) into the sidebar's date field ``which`` (0: from, 1: to) and
    leave it; the field's element."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    field = _wait(driver, '[data-testid="stDateInput"]')[which]
    field.find_elements(By.CSS_SELECTOR, '[role="spinbutton"]')[0].click()
    ActionChains(driver).send_keys(digits).perform()  # type: ignore[arg-type]
    driver.find_element(By.CSS_SELECTOR, "h1").click()  # type: ignore[attr-defined]  # leave the field
    return field


def test_date_filter_reaches_before_2016(app_url: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{app_url}/?q={quote('الجيش')}&mode=keyword")  # type: ignore[attr-defined]
    _wait(d, ".results .result")
    field = _type_date(d, 0, "20151201")
    deadline = time.monotonic() + 60
    while "from=2015-12-01" not in d.current_url and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.1)
    assert "from=2015-12-01" in d.current_url  # type: ignore[attr-defined]  # taken, not refused
    assert field.find_elements(By.CSS_SELECTOR, '[role="alert"]') == []
    deadline = time.monotonic() + 30
    while "1 نتيجة" not in _wait(d, ".caption")[0].text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "1 نتيجة" in _wait(d, ".caption")[0].text  # seeds/004 (2015-12-21), the one dated article with الجيش
    d.save_screenshot(str(ARTIFACTS / "date-range.png"))  # type: ignore[attr-defined]
    field = _type_date(d, 0, "20141201")  # the year before the archive's first: outside the range it offers
    alert = _wait(d, '[data-testid="stDateInput"] [role="alert"]')[0]
    assert f"between 2015-01-01 and {dt.date.today().isoformat()}" in alert.text
    d.save_screenshot(str(ARTIFACTS / "date-range-outside.png"))  # type: ignore[attr-defined]


def test_bidi_overrides_in_article_text_reverse_nothing(app_url: str, browser: object) -> None:
    d = browser
    d.get(f"{app_url}/?q={quote('بيروت')}&mode=keyword")  # type: ignore[attr-defined]
    _wait(d, ".results .result")
    # stored with U+202E before "evil"; shown as written: e left of l, R left of s
    assert _x(d, ".result .title", "evil", 0) < _x(d, ".result .title", "evil", 3)
    assert _x(d, ".result .snippet", "evil", 0) < _x(d, ".result .snippet", "evil", 3)
    assert _x(d, ".result .meta", "Reuters", 0) < _x(d, ".result .meta", "Reuters", 6)
    # and the Arabic after it still reads right to left: بعده before كلمات, so to its right
    assert _x(d, ".result .snippet", "بعده") > _x(d, ".result .snippet", "كلمات")
    assert d.execute_script("return document.body.innerText.includes('\\u202e')") is False  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "bidi-override.png"))  # type: ignore[attr-defined]
    d.get(f"{app_url}/?article=evil-2")  # type: ignore[attr-defined]
    _wait(d, ".article .body")
    assert _x(d, ".article .body", "evil", 0) < _x(d, ".article .body", "evil", 3)
    assert _x(d, ".article .body", "بعده") > _x(d, ".article .body", "كلمات")


def test_captions_search_box_and_pager_read_right_to_left(app_url: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{app_url}/?q={quote('-داعش سوريا')}&mode=keyword")  # type: ignore[attr-defined]
    _wait(d, ".results .result")
    _wait(d, ".st-key-next button p")  # the page is drawn down to the pager
    time.sleep(0.5)
    # "5 نتيجة · results · 12 ms · صفحة 1 من 1": the count first, on the right; the page last, on the left
    cap = '[data-testid="stCaptionContainer"]'
    assert _x(d, cap, "نتيجة") > _x(d, cap, "ms") > _x(d, cap, "صفحة")
    box = d.find_element(By.CSS_SELECTOR, 'input[aria-label="ابحث · Search"]')  # type: ignore[attr-defined]
    assert d.execute_script("return getComputedStyle(arguments[0]).direction", box) == "rtl"  # type: ignore[attr-defined]
    assert d.execute_script("return getComputedStyle(arguments[0]).unicodeBidi", box) == "plaintext"  # type: ignore[attr-defined]
    for key in ("prev", "next"):  # labels whole, not cut off
        label = d.find_element(By.CSS_SELECTOR, f".st-key-{key} button p")  # type: ignore[attr-defined]
        assert label.text in ("→ السابق · Prev", "التالي · Next ←")
        assert d.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", label)  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "rtl-captions.png"))  # type: ignore[attr-defined]


def test_help_shows_operators_where_they_are_typed(app_url: str, browser: object) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    d = browser
    d.get(app_url)  # type: ignore[attr-defined]
    for _ in range(12):  # a click during the page's first run can be lost in its redraw: click again
        try:
            _wait(d, '[data-testid="stPopoverButton"]')[0].click()
            _wait(d, '[data-testid="stPopoverBody"] code', timeout=10)
            break
        except (AssertionError, StaleElementReferenceException):
            continue
    _wait(d, '[data-testid="stPopoverBody"] code')
    time.sleep(0.5)
    # read right to left, the operator comes first: "-" right of داعش, "+" right of حلب, "*" left of سوري
    body = '[data-testid="stPopoverBody"]'
    assert _x(d, body, "-داعش", 0) > _x(d, body, "-داعش", 4)
    assert _x(d, body, "+حلب", 0) > _x(d, body, "+حلب", 3)
    assert _x(d, body, "سوري*", 4) < _x(d, body, "سوري*", 3)
    assert _x(d, body, "«حزب", 0) > _x(d, body, "الله»", 4)  # the phrase in its marks, in order
    assert _x(d, body, "from:", 0) < _x(d, body, "to:", 0)  # Latin syntax reads left to right
    assert d.find_elements(By.CSS_SELECTOR, '[data-testid="stAppDeployButton"]') == []  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "help.png"))  # type: ignore[attr-defined]


def test_landing_page_shows_the_archive(app_url: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(app_url)  # type: ignore[attr-defined]
    landing = _wait(d, ".landing")[0]
    assert "7\nمقالة · articles" in landing.text and "2015-12-21 – 2016-03-05" in landing.text
    latest = d.find_elements(By.CSS_SELECTOR, ".landing ul li a")  # type: ignore[attr-defined]
    assert len(latest) == 5 and "بيروت" in latest[0].text  # newest first: evil-2, 2016-03-05
    assert d.find_elements(By.CSS_SELECTOR, '[data-testid="stAppDeployButton"]') == []  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "landing.png"))  # type: ignore[attr-defined]
    chip = d.find_elements(By.CSS_SELECTOR, ".landing .examples a")[0]  # type: ignore[attr-defined]
    example = chip.text
    chip.click()
    _wait(d, ".results .result")
    assert "q=" in d.current_url and d.find_elements(By.CSS_SELECTOR, ".results .result mark")  # type: ignore[attr-defined]
    assert d.find_element(By.CSS_SELECTOR, 'input[aria-label="ابحث · Search"]').get_attribute("value") == example  # type: ignore[attr-defined]


def test_a_top_term_click_narrows_the_query(app_url: str, browser: object) -> None:
    """The toggle shows the result set's top terms as pills; clicking one adds it to the query
    as required and the results and terms are drawn again for the narrower query."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{app_url}/?q=%D8%AD%D9%84%D8%A8&mode=keyword")  # type: ignore[attr-defined]  # حلب: four of the seeds
    _wait(d, ".results .result")
    toggle = [
        e for e in _wait(d, '[data-testid="stCheckbox"] label, [data-testid="stToggle"] label, label') if "Top terms" in e.text
    ][0]
    toggle.click()
    pills = [e for e in _wait(d, '[data-testid="stButtonGroup"] button') if "·" in e.text]
    term, counts = pills[0].text.split(" · ")
    assert "/" in counts
    d.save_screenshot(str(ARTIFACTS / "top-terms.png"))  # type: ignore[attr-defined]
    pills[0].click()
    deadline = time.monotonic() + 60
    box = 'input[aria-label="ابحث · Search"]'
    while time.monotonic() < deadline and f"+{term}" not in (_wait(d, box)[0].get_attribute("value") or ""):
        time.sleep(0.1)
    assert _wait(d, box)[0].get_attribute("value") == f"حلب +{term}"

    def shown() -> list[str]:
        try:
            return [e.text.split(" · ")[0] for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stButtonGroup"] button')]  # type: ignore[attr-defined]
        except StaleElementReferenceException:
            return [term]

    while time.monotonic() < deadline and (term in shown() or not shown()):  # the terms of the narrower set
        time.sleep(0.1)
    assert term not in shown() and shown()  # now part of the query, so no longer a top term of it
    _wait(d, ".results .result")
    d.save_screenshot(str(ARTIFACTS / "top-terms-clicked.png"))  # type: ignore[attr-defined]


def test_the_attention_chart_draws_and_a_bar_click_narrows_the_dates(app_url: str, browser: object) -> None:
    """The toggle draws the Altair chart (Vega draws it as SVG, a path per bar); a click on a bar
    makes that bar's bucket the date filter, in the widgets and in the URL."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    d = browser
    d.get(f"{app_url}/?q=%D8%AD%D9%84%D8%A8&mode=keyword")  # type: ignore[attr-defined]
    _wait(d, ".results .result")
    [e for e in _wait(d, "label") if "Attention over time" in e.text][0].click()
    bars = _wait(d, '[data-testid="stVegaLiteChart"] .mark-rect path')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not bars[0].size["height"]:
        time.sleep(0.1)
        bars = _wait(d, '[data-testid="stVegaLiteChart"] .mark-rect path')
    assert bars[0].size["height"] > 0  # a bar with matches, drawn
    d.save_screenshot(str(ARTIFACTS / "timeline.png"))  # type: ignore[attr-defined]
    ActionChains(d).move_to_element(bars[0]).click().perform()
    dated: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (len(dated) == 2 and all(dated)):
        dated = [e.get_attribute("value") or "" for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stDateInput"] input')]  # type: ignore[attr-defined]
        time.sleep(0.2)
    assert len(dated) == 2 and all(dated), dated  # the bar's bucket became the date filter
    # the only dated match of حلب in the seeds is from 2015-12-21: its day's bar is the one drawn
    assert "from=2015-12-21" in d.current_url and "to=2015-12-21" in d.current_url  # type: ignore[attr-defined]
    d.save_screenshot(str(ARTIFACTS / "timeline-clicked.png"))  # type: ignore[attr-defined]
