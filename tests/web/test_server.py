"""A real uvicorn server: 100 concurrent predictions, and the form in Debian's chromium (selenium)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from her2mri.web import WebSettings, create_app
from her2mri.web.db import PredictionStore

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(web_bundle, web_bundle_dir, tmp_path_factory):
    import uvicorn

    db = tmp_path_factory.mktemp("server") / "store.sqlite"
    port = _free_port()
    settings = WebSettings(model_path=web_bundle_dir, port=port, database_url=f"sqlite:///{db}")
    app = create_app(settings, bundle=web_bundle)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # hang guard only: a loaded machine may start slowly
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "db": f"sqlite:///{db}"}
    srv.should_exit = True
    thread.join(timeout=10)


def test_server_handles_100_concurrent_predictions(server, good_case) -> None:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server["url"], timeout=600, limits=limits) as client:
            requests = [
                client.post("/api/predict", json=dict(good_case, case_reference=f"concurrent-{i}", age=30.0 + i % 40))
                for i in range(100)
            ]
            return await asyncio.gather(*requests)

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 100
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 100
    store = PredictionStore(server["db"])
    try:
        references = {r.case_reference for r in store.recent(limit=1000)}
    finally:
        store.dispose()
    assert {f"concurrent-{i}" for i in range(100)} <= references


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(300)
    yield driver
    driver.quit()


def _shot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    target = os.environ.get("HER2MRI_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def _fill_case(browser, reference: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.NAME, "lesion_type")).select_by_value("mass")
    selects = {
        "mass_shape": "irregular", "mass_margin": "spiculated", "tic_type": "washout", "t2_signal": "hyper",
        "er_status": "negative", "histologic_grade": "3", "peritumoral_edema": "yes", "axillary_adenopathy": "no",
    }
    for name, value in selects.items():
        Select(browser.find_element(By.NAME, name)).select_by_value(value)
    numbers = {"ki67_percent": "45", "adc_min": "0.85", "eer": "1.4", "tumor_size_mm": "28", "age": "51"}
    for name, value in numbers.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    field = browser.find_element(By.NAME, "case_reference")
    field.clear()
    field.send_keys(reference)


def _stored_references(server) -> set[str]:
    store = PredictionStore(server["db"])
    try:
        return {r.case_reference for r in store.recent(limit=1000)}
    finally:
        store.dispose()


@pytest.mark.browser
def test_browser_form_hides_descriptors_and_shows_result(server, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server["url"] + "/")
    lesion_type = Select(browser.find_element(By.NAME, "lesion_type"))
    mass_shape = browser.find_element(By.NAME, "mass_shape")
    nme_distribution = browser.find_element(By.NAME, "nme_distribution")

    lesion_type.select_by_value("nme")
    assert not mass_shape.is_displayed()
    assert nme_distribution.is_displayed()
    lesion_type.select_by_value("mass")
    assert mass_shape.is_displayed()
    assert not nme_distribution.is_displayed()

    _fill_case(browser, "browser-1")
    browser.find_element(By.ID, "submit").click()

    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "probabilities")))
    bars = browser.find_elements(By.CSS_SELECTOR, "#probabilities .bar-row")
    assert [b.get_attribute("data-class") for b in bars] == ["zero", "low", "positive"]
    total = sum(float(b.find_element(By.CLASS_NAME, "bar-value").text.rstrip("%")) for b in bars)
    assert total == pytest.approx(100.0, abs=0.2)
    assert "Call at the model's thresholds" in browser.find_element(By.ID, "call").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.waterfall")
    assert "ki67 percent" in browser.find_element(By.ID, "task-positive_vs_negative").text
    assert browser.find_element(By.ID, "nomogram-positive_vs_negative").is_displayed()
    assert browser.find_element(By.ID, "prediction-set").is_displayed()
    assert "Research use only" in browser.page_source
    # the lesion type chosen stays selected and its dependants stay hidden after the round trip
    assert not browser.find_element(By.NAME, "nme_distribution").is_displayed()
    _shot(browser, tmp_path, "her2mri_form_result.png")

    browser.get(server["url"] + "/predictions")
    assert "browser-1" in browser.page_source


XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.mark.browser
def test_browser_script_case_reference_shows_as_text_and_never_runs(server, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server["url"] + "/")
    _fill_case(browser, XSS)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "probabilities")))
    heading = browser.find_element(By.CSS_SELECTOR, "#result h2").text
    assert XSS in heading  # shown as the text typed
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#result script, #result img")
    _shot(browser, tmp_path, "her2mri_xss_result.png")

    browser.get(server["url"] + "/predictions")
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.records")))
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.records td")]
    assert XSS in cells
    assert browser.execute_script("return window.__pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "table.records script, table.records img")
    assert XSS in _stored_references(server)


@pytest.fixture(scope="module")
def attacker_site(server, tmp_path_factory):
    """A page on another origin (localhost on another port) whose form posts a case to the app on load."""
    import functools
    import http.server

    root = tmp_path_factory.mktemp("attacker")
    fields = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in
                     {"case_reference": "cross-site-attack", "ki67_percent": "45", "age": "51"}.items())
    (root / "attack.html").write_text(
        f'<!doctype html><html><body><form id="f" method="post" action="{server["url"]}/">{fields}</form>'
        '<script>document.getElementById("f").submit();</script></body></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}/attack.html"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.browser
def test_browser_cross_origin_form_post_is_refused_and_not_stored(server, browser, attacker_site, tmp_path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(attacker_site)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(server["url"]))
    WebDriverWait(browser, 30).until(lambda d: "Cross-site request refused" in d.page_source)
    _shot(browser, tmp_path, "her2mri_cross_site_refused.png")
    assert "cross-site-attack" not in _stored_references(server)
    # the same form sent from the app's own page is accepted (the refusal is about the origin, not the fields)
    browser.get(server["url"] + "/")
    assert browser.execute_script(
        "const f = document.getElementById('case-form'); return f.getAttribute('action');"
    ) == "/"
