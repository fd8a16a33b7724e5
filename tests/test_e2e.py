"""End to end in a real browser: ``streamlit run`` on a free port over an index of seeds/ plus a
hostile article, driven by Debian's chromium through chromedriver (no downloaded browser).
Saves screenshots under test-artifacts/ and prints the query-to-results time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest

from archive.embeddings import Embedder
from archive.jobs import JobRunner, config_from_paths
from archive.store import open_store

from .conftest import ARTIFACTS, ROOT, SEEDS, record_reliability
from .es_server import free_port

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = {
    "id": "evil-1", "source": "مصدر <b>عريض</b>",
    "title": "<script>window.__xss=1</script> خبر طاجيكستان \u202eعكس",
    "body": "نص عن طاجيكستان <img src=x onerror=\"window.__xss=2\"> و [رابط](javascript:window.__xss=3) "
            "<a href=\"javascript:window.__xss=4\">اضغط</a> **عريض** \u202eمقلوب",
    "url": "javascript:window.__xss=5",
}

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                                reason="needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, embedder: Embedder) -> Iterator[str]:
    d = tmp_path_factory.mktemp("e2e")
    (d / "models").symlink_to(data_dir / "models", target_is_directory=True)
    hostile = d / "hostile"
    hostile.mkdir()
    (hostile / "evil.jsonl").write_text(json.dumps(EVIL, ensure_ascii=False) + "\n", encoding="utf-8")
    assert JobRunner(open_store(d, backend="lancedb"), embedder).run(config_from_paths([SEEDS, hostile])).added == 6
    port = free_port()
    env = dict(os.environ, ARCHIVE_DATA_DIR=str(d))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "search_ui" / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1280,1600", "--lang=ar"):
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
        now = driver.find_elements(By.CSS_SELECTOR, ".results .result")  # type: ignore[attr-defined]
        if now and [e.get_attribute("innerHTML") for e in driver.find_elements(By.CSS_SELECTOR, ".results")] != before:  # type: ignore[attr-defined]
            return time.perf_counter() - t0
        time.sleep(0.02)
    driver.save_screenshot(str(ARTIFACTS / "timeout.png"))  # type: ignore[attr-defined]
    raise AssertionError(f"no new results for {text!r}")


def test_search_highlight_permalink_in_a_real_browser(app_url: str, browser: object) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    d.get(app_url)  # type: ignore[attr-defined]
    first = _search(d, "قاعدة همدان الجوية")  # the first search also loads the model in the server
    marks = [m.text for m in d.find_elements(By.CSS_SELECTOR, ".results .result mark")]  # type: ignore[attr-defined]
    assert "همدان" in marks and "قاعدة" in marks
    assert d.find_element(By.CSS_SELECTOR, ".results").get_attribute("dir") == "rtl"  # type: ignore[attr-defined]
    warm = sorted(_search(d, q) for q in ("الجيش السوري", "روسيا ايران", "سليماني موسكو", "قاعدة همدان"))
    d.save_screenshot(str(ARTIFACTS / "search.png"))  # type: ignore[attr-defined]
    assert "q=" in d.current_url  # type: ignore[attr-defined]  # the URL follows the query
    print(f"\nquery → results drawn in the browser: first {first:.2f}s (model load included), "
          f"warm median {warm[len(warm) // 2]:.2f}s (min {warm[0]:.2f}s, max {warm[-1]:.2f}s)")

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
    record_reliability("output safety in a browser", "an article with <script>, <img onerror>, javascript: links and URL, "
                       "Markdown and U+202E, searched and opened in headless chromium",
                       "all shown as text; no script ran, no image, link or bold element was created")
