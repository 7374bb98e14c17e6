"""The page in a real browser: Debian's headless Chromium driven by Selenium.

The server is `derive serve` itself (a subprocess on a free port); the tests
type into the page, wait for KaTeX to render, and read what a user sees. The
standalone file (`-o steps.html`) is opened through file:// with the network
unused. Skipped only when /usr/bin/chromium is absent (`.ci/run` installs it,
so CI runs them). `MATCALC_SCREENSHOT=1` rewrites images/web-rnn.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

#: (title, expression, wrt, shapes): typed into the page, their rendered result compared with the library's
WORKED_EXAMPLES = [
    ("scalar chain rule", "sin(x**2)", None, {}),
    ("two paths", "x + x**2", None, {}),
    ("ReLU neuron", "max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
    ("RNN cell", "c = tanh(Wc@cp + Wx@x + b)", "Wx", {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}),
]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "images" / "web-rnn.png"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
                       reason="Chromium is not installed (/usr/bin/chromium, chromedriver: "
                              "apt-get install chromium chromium-driver; .ci/run does this)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "matcalc_sym", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {process.stdout.read().decode()}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for a browser to download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="matcalc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _by():
    from selenium.webdriver.common.by import By

    return By


def wait_for(driver, predicate, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(predicate)


def tex_of(element) -> str:
    """The TeX KaTeX rendered (its MathML annotation), i.e. what the user sees, as source."""
    return element.find_element(_by().CSS_SELECTOR, "annotation").get_attribute("textContent")


def ask(driver, base: str, text: str, wrt: str | None = None, shapes: dict | None = None, answer: str = "") -> None:
    """Type a question into a fresh page and press Derive; wait for the rendered result."""
    By = _by()
    driver.get(base + "/")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#examples button"))
    for field, value in (("text", text), ("wrt", wrt or ""),
                         ("shapes", "; ".join(f"{k}={v}" for k, v in (shapes or {}).items())), ("answer", answer)):
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, "derive").click()


def rendered_result(driver):
    By = _by()
    return wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#derivation .result .katex"))[0]


def csp_violations(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
            or "Refused" in e["message"]]


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_typed_expression_renders_the_librarys_result(server, browser, title, text, wrt, shapes):
    from matcalc_sym import derive
    from matcalc_sym.render.latex import result_math

    By = _by()
    ask(browser, server, text, wrt, shapes)
    result = rendered_result(browser)
    assert tex_of(result) == r"\boxed{" + result_math(derive(text, wrt, shapes=shapes)) + "}"
    assert result.find_elements(By.CSS_SELECTOR, ".katex-html")[0].text.strip()  # typeset, visible glyphs
    assert browser.find_elements(By.CSS_SELECTOR, ".katex-error") == []
    blocks = browser.find_elements(By.CSS_SELECTOR, "details.block")
    assert blocks and all(b.get_attribute("open") is not None for b in blocks)
    assert blocks[0].find_element(By.TAG_NAME, "summary").text.startswith("1. Introduce")
    rules = [r.text for r in browser.find_elements(By.CSS_SELECTOR, ".step .rule")]
    assert len(rules) == len(derive(text, wrt, shapes=shapes).steps) and all(rules)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.dag .node.on-path")
    assert "text=" in browser.current_url  # the question is in the URL
    assert csp_violations(browser) == []


def test_the_plain_result_text_is_readable(server, browser):
    ask(browser, server, "sin(x**2)")
    shown = rendered_result(browser).text.replace("\n", "")
    assert "cos" in shown and "2x" in shown.replace(" ", "")


def test_a_block_collapses(server, browser):
    By = _by()
    ask(browser, server, "sin(x**2)")
    rendered_result(browser)
    block = browser.find_elements(By.CSS_SELECTOR, "details.block")[0]
    block.find_element(By.TAG_NAME, "summary").click()
    assert block.get_attribute("open") is None
    assert not block.find_elements(By.CSS_SELECTOR, ".step")[0].is_displayed()


def test_an_error_is_shown_under_its_field_with_a_caret(server, browser):
    By = _by()
    ask(browser, server, "sin(x**2")
    error = wait_for(browser, lambda d: [e for e in d.find_elements(By.ID, "error-text") if e.is_displayed()])[0]
    assert "never closed" in error.text
    assert error.find_element(By.CSS_SELECTOR, "pre.caret").text.rstrip().endswith("^")
    assert browser.find_element(By.ID, "text").get_attribute("aria-invalid") == "true"
    ask(browser, server, "w*x", "w", {"w": "n,,"})
    error = wait_for(browser, lambda d: [e for e in d.find_elements(By.ID, "error-shapes") if e.is_displayed()])[0]
    assert "3 dimensions" in error.text


def test_a_shared_url_derives_the_question(server, browser):
    By = _by()
    query = urllib.parse.urlencode({"text": "x * x**2", "wrt": "x", "layout": "denominator"})
    browser.get(f"{server}/?{query}")
    result = rendered_result(browser)
    assert "x^{2}" in tex_of(result)
    assert browser.find_element(By.ID, "text").get_attribute("value") == "x * x**2"
    assert browser.find_element(By.ID, "layout").get_attribute("value") == "denominator"


def test_check_my_answer(server, browser):
    By = _by()
    ask(browser, server, "sin(x**2)", answer="cos(x**2)")
    report = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".report.answer"))[0]
    assert report.text.startswith("answer NOT correct") and "chain-rule factor" in report.text
    ask(browser, server, "sin(x**2)", answer="2*x*cos(x**2)")
    report = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".report.answer"))[0]
    assert report.text.startswith("answer correct")


def test_every_gallery_example_is_one_click_away_and_renders(server, browser):
    """A new user's tour: each gallery button derives its example, every step typeset without errors."""
    from matcalc_sym.web.examples import GALLERY

    By = _by()
    browser.get(server + "/")
    buttons = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#examples button"))
    assert len(buttons) == len(GALLERY)
    browser.find_element(By.CSS_SELECTOR, "#gallery summary").click()
    for index, example in enumerate(GALLERY):
        browser.execute_script("document.getElementById('derivation').textContent = '';")
        browser.find_elements(By.CSS_SELECTOR, "#examples button")[index].click()
        result = rendered_result(browser)
        assert browser.find_element(By.ID, "text").get_attribute("value") == example.text
        assert tex_of(result).startswith(r"\boxed{"), example.text
        assert browser.find_elements(By.CSS_SELECTOR, ".katex-error") == [], example.text
        steps = browser.find_elements(By.CSS_SELECTOR, ".step .katex")
        assert steps and all(s.text.strip() for s in steps[:5]), example.text
    assert csp_violations(browser) == []


def test_copy_and_download_buttons_carry_the_formats(server, browser):
    By = _by()
    ask(browser, server, "sin(x**2)")
    rendered_result(browser)
    assert browser.find_element(By.ID, "formats").is_displayed()
    names = {b.get_attribute("data-format") for b in browser.find_elements(By.CSS_SELECTOR, "#formats button")}
    assert {"latex", "markdown", "json", "numpy"} <= names
    browser.find_element(By.CSS_SELECTOR, '#formats button[data-format="latex"][data-action="copy"]').click()
    wait_for(browser, lambda d: d.find_element(By.ID, "copied").text)
    assert browser.find_element(By.ID, "copied").text in ("copied latex", "copy refused")


def test_standalone_html_renders_offline_from_a_file(browser, tmp_path):
    from matcalc_sym import derive
    from matcalc_sym.render.latex import result_math

    By = _by()
    d = derive("mean((y - max(0, X@w + b))**2)", "w", shapes={"X": "N,n", "y": "N", "w": "n"})
    page = tmp_path / "steps.html"
    page.write_text(d.to_html(), encoding="utf-8")
    browser.get(page.as_uri())
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered") == "yes")
    result = rendered_result(browser)
    assert tex_of(result) == r"\boxed{" + result_math(d) + "}"
    assert browser.find_elements(By.CSS_SELECTOR, ".katex-error") == []
    assert browser.execute_script("return document.fonts.check('16px KaTeX_Main')") is True
    browser.execute_script("return document.fonts.ready")
    loaded = browser.execute_script(
        "return Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("KaTeX" in family for family in loaded)  # the inlined fonts, not a fallback


def test_screenshot_of_the_rnn_example(server, browser, tmp_path):
    """The README's picture; MATCALC_SCREENSHOT=1 writes it to images/web-rnn.png."""
    By = _by()
    text, wrt, shapes = next(w[1:] for w in WORKED_EXAMPLES if w[0] == "RNN cell")
    ask(browser, server, text, wrt, shapes)
    rendered_result(browser)
    browser.execute_script("document.querySelectorAll('details.block').forEach(function (b, i) { b.open = i < 2; });")
    for _ in range(3):  # the layout settles after a resize: measure again until the whole page fits
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1200, min(max(height, 800), 3000) + 140)
    target = SCREENSHOT if os.environ.get("MATCALC_SCREENSHOT") == "1" else tmp_path / "web-rnn.png"
    target.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    browser.set_window_size(1200, 1600)
    assert browser.find_elements(By.CSS_SELECTOR, ".result .katex")


def test_the_graph_highlights_the_paths_of_the_chosen_variable(server, browser):
    from selenium.webdriver.support.ui import Select

    By = _by()
    ask(browser, server, "x*y + sin(y)", "x,y")
    rendered_result(browser)

    def marked():
        return sorted(n.get_attribute("data-name") for n in browser.find_elements(By.CSS_SELECTOR, "svg.dag .node.on-path"))

    from_x = marked()
    assert "x" in from_x and "y" not in from_x
    Select(browser.find_element(By.CSS_SELECTOR, "select.graph-wrt")).select_by_visible_text("paths from y")
    from_y = marked()
    assert "y" in from_y and "x" not in from_y and len(from_y) > len(from_x)


def test_a_hessian_is_one_choice_away_and_kept_in_the_url(server, browser):
    """Choose "Hessian": the page derives the second derivative (the gradient first, collapsed into one
    block), says so in its title, and the choice travels with the shared URL."""
    from selenium.webdriver.support.ui import Select

    from matcalc_sym import derive
    from matcalc_sym.render.latex import result_math

    By = _by()
    ask(browser, server, "x@A@x", "x", {"x": "n", "A": "n,n"})
    rendered_result(browser)
    Select(browser.find_element(By.ID, "second")).select_by_value("hessian")
    browser.execute_script("document.getElementById('derivation').textContent = '';")
    browser.find_element(By.ID, "derive").click()
    result = rendered_result(browser)
    expected = derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"}, hessian=True)
    assert tex_of(result) == r"\boxed{" + result_math(expected) + "}"
    assert browser.find_element(By.CSS_SELECTOR, "#derivation h2").text.startswith("Hessian of")
    assert "second=hessian" in browser.current_url
    browser.get(browser.current_url)
    assert tex_of(rendered_result(browser)) == r"\boxed{" + result_math(expected) + "}"
    assert browser.find_element(By.ID, "second").get_attribute("value") == "hessian"
    assert csp_violations(browser) == []
