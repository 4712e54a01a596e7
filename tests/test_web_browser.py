"""The workspace in a real browser: headless Chromium (Debian's chromium + chromium-driver).

The real server (uvicorn, in a thread on a free loopback port, temporary SQLite database) is
driven by keyboard only, as a clinician without a mouse would: create a client, fill a PHQ-9 +
GAD-7 visit (PHQ-9 item 9 endorsed, so an alert shows), open the printable report and its PDF,
fill a second visit, see the chart and the change category.

Screenshots go to $PSYSCORE_SCREENSHOTS (e.g. docs/img, for the README) or a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")
selenium = pytest.importorskip("selenium")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 15  # seconds for any page or answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from psyscore.web.app import create_app, loopback_hosts
    from psyscore.web.store import Store

    store = Store.open(tmp_path / "workspace.db")
    port = free_port()
    app = create_app(store, require_login=False, allowed_hosts=loopback_hosts(port))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    srv.should_exit = True
    thread.join(WAIT)
    store.close()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1500",
        "--lang=en-US",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("PSYSCORE_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def typed(driver, keys: str) -> None:
    """Keys to whatever has the focus: the keyboard, not the mouse."""
    webdriver.ActionChains(driver).send_keys(keys).perform()


def wait_for(driver, condition, what: str):
    from selenium.common.exceptions import WebDriverException

    # while a page is replaced, a look-up may hit the old document (stale element, "node does
    # not belong to the document"): try again until the time is up
    return WebDriverWait(
        driver, WAIT, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)
    ).until(condition, message=what)


def answer_screen(driver, keys: str, screen_title: str, shot: Path | None = None) -> None:
    """Answer every item of the screen showing `screen_title`, one key per item (`shot`: a
    screenshot once all but the last two are answered)."""
    wait_for(driver, lambda d: screen_title in d.find_element(By.TAG_NAME, "h1").text, screen_title)
    wait_for(
        driver,
        lambda d: d.find_element(By.ID, "form-screen").get_attribute("data-ready") == "keys",
        "the form's script",
    )
    for n, key in enumerate(keys):
        items = driver.find_elements(By.CSS_SELECTOR, "li.item")
        typed(driver, key)
        if n + 1 < len(keys):  # the next item becomes the current one once this one is saved
            wait_for(
                driver,
                lambda d, i=n + 1, found=items: "current" in found[i].get_attribute("class"),
                f"item {n + 2} of {screen_title}",
            )
        if shot is not None and n + 3 == len(keys):
            driver.save_screenshot(str(shot))


def start_visit(driver, base: str, client_id: str, date: str) -> None:
    driver.get(base + f"/clients/{client_id}")
    focused = driver.switch_to.active_element
    assert focused.get_attribute("id") == "instruments-text"
    typed(driver, "phq-9 gad-7" + Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "visit-date"
    typed(driver, date + Keys.ENTER)  # tabbing in selects the date shown, typing replaces it


def review_and_score(driver, sex_key: str | None) -> None:
    wait_for(driver, lambda d: d.current_url.endswith("/review"), "the review screen")
    assert driver.switch_to.active_element.get_attribute("id") == "score-button"
    if sex_key:
        chain = webdriver.ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB + Keys.TAB)
        chain.key_up(Keys.SHIFT).perform()
        assert driver.switch_to.active_element.get_attribute("id") == "sex"
        typed(driver, sex_key)
        typed(driver, Keys.TAB + Keys.TAB)
    typed(driver, Keys.ENTER)
    wait_for(driver, lambda d: d.current_url.endswith("/report"), "the report")


def test_two_visits_by_keyboard_alert_report_chart_and_change(server, browser, shots):
    base, store = server
    driver = browser
    driver.get(base + "/")
    assert driver.switch_to.active_element.get_attribute("id") == "new-client"
    typed(driver, "C17" + Keys.ENTER)
    wait_for(driver, lambda d: "Client C17" in d.page_source, "the client page")

    # visit 1: PHQ-9 17 with item 9 endorsed (then the unscored difficulty item), GAD-7 14
    start_visit(driver, base, "C17", "2026-01-12")
    answer_screen(
        driver,
        "22222222" + "1" + "2",
        "Patient Health Questionnaire-9",
        shots / "workspace-form.png",
    )
    answer_screen(driver, "2222222", "Generalized Anxiety Disorder")
    review_and_score(driver, "m")
    alert = driver.find_element(By.CSS_SELECTOR, ".ws-alert")
    assert "CRITICAL ALERT" in alert.text and "suicide risk" in alert.text
    driver.save_screenshot(str(shots / "workspace-report-alert.png"))

    first = store.list_visits("C17")[0]
    assert first.status == "scored" and first.answers["phq9_9"] == 1
    assert first.result["instruments"][0]["scores"][0]["value"] == 17

    # the printable report, and its PDF (same session cookie)
    printable = driver.find_element(By.ID, "printable").get_attribute("href")
    driver.get(printable)
    assert "CRITICAL ALERT" in driver.page_source
    driver.save_screenshot(str(shots / "workspace-printable.png"))
    if shutil.which("chromium"):
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
        request = urllib.request.Request(
            printable.replace(".html", ".pdf"), headers={"Cookie": cookie}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.read(5) == b"%PDF-"

    # visit 2: much better; sex is remembered from visit 1
    start_visit(driver, base, "C17", "2026-03-09")
    answer_screen(driver, "001001000" + "0", "Patient Health Questionnaire-9")
    answer_screen(driver, "1010101", "Generalized Anxiety Disorder")
    # the review screen: change PHQ-9 item 3 from 1 to 0, and come back to the review
    wait_for(driver, lambda d: d.current_url.endswith("/review"), "the review screen")
    change = driver.find_element(By.CSS_SELECTOR, 'a[href*="item=phq9_3"]').get_attribute("href")
    driver.get(change)
    wait_for(
        driver,
        lambda d: d.find_element(By.ID, "form-screen").get_attribute("data-ready") == "keys",
        "the form's script",
    )
    wait_for(
        driver,
        lambda d: "current" in d.find_element(By.ID, "item-phq9_3").get_attribute("class"),
        "item 3",
    )
    typed(driver, "0")
    wait_for(driver, lambda d: d.current_url.endswith("/review"), "back to the review")
    assert (
        "0 = Not at all" in driver.find_elements(By.CSS_SELECTOR, "table.review tbody tr")[2].text
    )
    review_and_score(driver, None)
    page = driver.page_source
    assert "recovered" in page
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart circle.point")
    driver.save_screenshot(str(shots / "workspace-report-change.png"))

    driver.get(base + "/clients/C17")
    assert len(driver.find_elements(By.CSS_SELECTOR, "figure.chart")) >= 2
    driver.save_screenshot(str(shots / "workspace-client-chart.png"))
    second = store.list_visits("C17")[1]
    total = second.result["instruments"][0]["scores"][0]
    assert total["value"] == 1 and total["change"]["category"] == "recovered"
