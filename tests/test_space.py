"""The Gradio Space: driven through gradio_client, and in a real headless Chromium."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
from types import ModuleType

import pytest
from facts import FACT_SETTINGS, hand_calibration

import quals
from quals.demo import load_examples

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(REPO, "test-artifacts")
SOURCE = "alice was born in paris . bob was born in rome ."
FAITHFUL, ALTERED = "alice was born in paris .", "alice was born in rome ."


def _serve(model: str, settings: dict) -> tuple[ModuleType, str]:
    """A fresh app module with this QAGen and these settings (read at import), served on localhost."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QUALS_MODEL", model)
        env.setenv("QUALS_SETTINGS", json.dumps(settings))
        spec = importlib.util.spec_from_file_location("quals_space_app", os.path.join(REPO, "space", "app.py"))
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
    _, url, _ = app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    return app, url


@pytest.fixture(scope="module")
def space(calibrated_qagen_dir):
    """The app module, with the tiny fact QAGen and its hand-made calibration, served on localhost for the whole module."""
    app, url = _serve(calibrated_qagen_dir, FACT_SETTINGS)
    yield app, url
    app.demo.close()


@pytest.fixture(scope="module")
def bundled_space():
    """The app as a Space runs it: the bundled QAGen at its default settings, whose vocabulary fits the examples."""
    app, url = _serve("bundled", {})
    yield app, url
    app.demo.close()


def _scores(report: str) -> list[float]:
    return [float(x) for x in re.findall(r"QUALS (-?\d+\.\d+)", report)]


def test_client_scores_faithful_above_altered_and_explains(space):
    from gradio_client import Client

    app, url = space
    assert app.demo.analytics_enabled is False  # nothing is sent anywhere
    client = Client(url, verbose=False)
    report, table, highlights, pick, chart = client.predict(SOURCE, f"{FAITHFUL}\n{ALTERED}", api_name="/score")
    faithful, altered = _scores(report)
    assert faithful > altered
    assert "QUALS|model:" in report
    rows = table["data"]
    assert rows and all(r[0] in (1, 2) for r in rows)
    differences = [r[5] for r in rows]
    assert differences == sorted(differences)  # least supported first
    for r in rows:
        assert r[2].lower() in (FAITHFUL if r[0] == 1 else ALTERED)
        assert r[5] == pytest.approx(r[4] - r[3], abs=2e-3)
    assert any(r[0] == 2 and "rome" in r[2] for r in rows)
    labels = {item["class_or_confidence"] for item in highlights if item.get("class_or_confidence")}
    assert labels <= {"supported", "weak", "unsupported"} and labels
    scorer = app.get_scorer()  # the same model and settings, so the same scores, unrounded
    for result in scorer.score([SOURCE, SOURCE], [FAITHFUL, ALTERED]):
        assert f"{result.quals:.3f}** ({result.num_qa_pairs} QA pairs): {scorer.calibration.reading(result.quals)}" in report
    assert "hand-made quantiles for tests" in report  # what the readings are relative to


def test_without_a_calibration_scores_are_not_read_or_coloured(space):
    app, _ = space
    pair = type("P", (), {"answer": "paris", "difference": -2.0})()
    assert app.reading(-1.2, None) == app.UNCALIBRATED and "no calibration" in app.UNCALIBRATED
    assert app.reading(None, None).startswith("no question-answer pair")
    assert app.highlight("alice was born in paris .", [pair], None) == [("alice was born in paris .", None)]


def test_over_long_input_gets_the_limit_message_and_the_app_keeps_serving(space):
    from gradio_client import Client

    app, url = space
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="at most"):
        client.predict("x " * app.MAX_DOCUMENT_CHARS, FAITHFUL, api_name="/score")
    with pytest.raises(Exception, match="at most 4"):
        client.predict(SOURCE, "\n".join([FAITHFUL] * 5), api_name="/score")
    report = client.predict(SOURCE, FAITHFUL, api_name="/score")[0]
    assert len(_scores(report)) == 1


def test_summaries_are_split_at_newlines_only(space):
    app, _ = space
    # A pasted U+2028 (or form feed) is inside a summary: str.splitlines would make two summaries of it.
    assert app.parse_inputs(SOURCE, f"{FAITHFUL}\u2028 and more\r\n\n{ALTERED}\x0c too\n") == (
        SOURCE, [f"{FAITHFUL}\u2028 and more", f"{ALTERED}\x0c too"])


def test_highlight_marks_answer_spans_by_worst_support(space):
    app, _ = space
    pair = lambda answer, diff: type("P", (), {"answer": answer, "difference": diff})()  # noqa: E731
    calibration = hand_calibration("QUALS|hand")  # faithful pairs evenly on [-1.2, 0]: weak below -0.96, unsupported below -1.14
    spans = app.highlight("Alice was born in Paris.", [pair("paris", -2.0), pair("alice", -0.1), pair("born in paris", -1.0)],
                          calibration)
    assert ("Alice", "supported") in spans and ("Paris", "unsupported") in spans and ("born in ", "weak") in spans
    assert "".join(text for text, _ in spans) == "Alice was born in Paris."


def test_highlight_spans_are_found_on_the_original_text(space):
    app, _ = space
    pair = lambda answer, diff: type("P", (), {"answer": answer, "difference": diff})()  # noqa: E731
    # "İ".lower() is two characters: spans found on a lower-cased copy would shift, or run past the end.
    calibration = hand_calibration("QUALS|hand")
    assert app.highlight("İzmir: the council met.", [pair("council", -2.0)], calibration) == [
        ("İzmir: the ", None), ("council", "unsupported"), (" met.", None)]
    assert app.highlight("İİ Council", [pair("council", -0.1)], calibration) == [("İİ ", None), ("Council", "supported")]


def test_chart_names_the_separator_and_end_tokens_in_words(space):
    app, _ = space
    tokens = ["where", "was", "alice", "born", "?", "[unused0]", "paris", "[SEP]"]
    assert app.readable_tokens(tokens, quals.PRESETS["minilm-prefix-lm"]) == tokens[:5] + ["answer:", "paris", "end"]


def _chromium():
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        if os.environ.get("QUALS_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver must be installed (apt-get install chromium chromium-driver)")
        pytest.skip("Debian's chromium and chromium-driver are not installed; CI installs them and requires this test")
    return binary, driver


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by selenium, shared by the browser tests."""
    binary, driver = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,2200"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield browser
    browser.quit()


def _screenshot(browser, name: str) -> None:
    """The whole page, below the window's height too, saved as test-artifacts/<name>."""
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, name), "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def test_browser_fills_clicks_and_sees_score_table_and_chart(space, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _, url = space
    browser.get(url)
    wait = WebDriverWait(browser, 120)
    doc = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#document textarea")))
    doc.send_keys(SOURCE)
    browser.find_element(By.CSS_SELECTOR, "#summaries textarea").send_keys(f"{FAITHFUL}\n{ALTERED}")
    browser.find_element(By.CSS_SELECTOR, "#score").click()
    wait.until(lambda b: len(_scores(b.find_element(By.CSS_SELECTOR, "#report").text)) == 2)
    faithful, altered = _scores(browser.find_element(By.CSS_SELECTOR, "#report").text)
    assert faithful > altered
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#pairs tbody tr")) > 0)
    assert "rome" in browser.find_element(By.CSS_SELECTOR, "#pairs").text
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#chart canvas, #chart svg"))
    _screenshot(browser, "space.png")


# Where the panels are, in page pixels: which table headers end inside the table's panel, the chart's axis
# labels, its legend swatches and whether the legend ends inside the chart's panel.
LAYOUT = """
const box = selector => document.querySelector(selector)?.getBoundingClientRect();
const pairs = box('#pairs'), chart = box('#chart'), legend = box('#chart .role-legend');
return {
  examples_top: box('#examples').top, outputs_top: box('#highlights').top,
  fitting_headers: [...document.querySelectorAll('#pairs th')].filter(th => th.getBoundingClientRect().right <= pairs.right + 1)
    .map(th => th.textContent.replace('⋮', '').trim()),
  axis_labels: [...document.querySelectorAll('#chart .role-axis-label text')].map(t => t.textContent),
  swatches: document.querySelectorAll('#chart .role-legend-symbol path').length,
  legend_inside: legend !== undefined && legend.bottom <= chart.bottom,
};
"""


def _two_scores_or_an_error(browser) -> bool:
    """Whether the report shows two scores; fails at once where Gradio has put "Error" in a panel instead."""
    from selenium.webdriver.common.by import By

    assert not browser.find_elements(By.CSS_SELECTOR, ".error"), "the page shows an error (see the server log)"
    return len(_scores(browser.find_element(By.CSS_SELECTOR, "#report").text)) == 2


def test_browser_example_click_fills_the_boxes_and_scores_with_every_panel_in_view(bundled_space, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    app, url = bundled_space
    browser.get(url)
    wait = WebDriverWait(browser, 300)  # the model loads on the first click; 60-beam search on a busy 2-core CPU
    cells = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#examples tr.tr-body td"))
    layout = browser.execute_script(LAYOUT)
    assert layout["examples_top"] < layout["outputs_top"]  # examples first, not under the empty output panels
    _screenshot(browser, "space-before.png")
    cells[0].click()
    wait.until(_two_scores_or_an_error)
    assert browser.find_element(By.CSS_SELECTOR, "#document textarea").get_attribute("value") == load_examples()[0]["document"]
    wait.until(lambda b: b.execute_script(LAYOUT)["swatches"] == 2)
    layout = browser.execute_script(LAYOUT)
    assert set(app.TABLE_COLUMNS) <= set(layout["fitting_headers"]), layout["fitting_headers"]
    assert layout["legend_inside"]
    tokens = [label.split(" ", 1)[1] for label in layout["axis_labels"] if re.match(r"\d\d ", label)]
    assert "answer:" in tokens and tokens[-1] == "end", tokens
    assert not {"[unused0]", "[SEP]"} & set(tokens)
    report = browser.find_element(By.ID, "report").text  # both summaries read against the bundled model's calibration
    assert report.count("faithful summaries") >= 2 and app.get_scorer().calibration.description in report
    _screenshot(browser, "space-after.png")


DIST_CHECK = """
import json, os, sys
dist, model = sys.argv[1], sys.argv[2]
sys.path.insert(0, dist)  # as the Space runs app.py: from the folder, with the package copied there
import evaluate
settings = dict(num_beams=8, num_beam_groups=8, min_new_tokens=3, max_new_tokens=12)
metric = evaluate.load(dist, model, keep_in_memory=True)
out = metric.compute(predictions=[sys.argv[4]], sources=[sys.argv[3]], **settings)
os.environ.update(QUALS_MODEL=model, QUALS_SETTINGS=json.dumps(settings))
import app
own = app.get_scorer().score([sys.argv[3]], [sys.argv[4]])[0]
print(json.dumps({"metric": out["quals"][0], "app": own.quals, "package": app.quals.__file__,
                  "blocks": type(app.demo).__name__}))
"""


def test_space_dist_is_an_evaluate_metric_and_the_app(trained_qagen_dir, tmp_path):
    """``make space-dist``'s folder: evaluate.load(folder) works offline and agrees with the scorer, and its app
    imports the package copied beside it."""
    import subprocess
    import sys

    sys.path.insert(0, os.path.join(REPO, "space"))
    try:
        from build_dist import build
    finally:
        sys.path.pop(0)
    with pytest.raises(ValueError, match="name the folder 'quals'"):
        build(str(tmp_path / "space"))
    dist = build(str(tmp_path / "quals"))
    assert sorted(os.listdir(dist)) == ["README.md", "app.py", "quals", "quals.py", "requirements.txt"]
    assert not any(name.startswith("qags-") for name in os.listdir(os.path.join(dist, "quals", "models")))
    card = open(os.path.join(dist, "README.md"), encoding="utf-8").read()
    assert "\n  - evaluate\n  - metric\n" in card.split("---")[1]
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    elsewhere = tmp_path / "elsewhere"  # not the folder holding dist/quals, whose name would shadow the package
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-c", DIST_CHECK, dist, trained_qagen_dir, SOURCE, FAITHFUL],
                          capture_output=True, text=True, env=env, cwd=str(elsewhere), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    expected = quals.QualsScorer(trained_qagen_dir, **FACT_SETTINGS).score([SOURCE], [FAITHFUL])[0].quals
    assert report["metric"] == report["app"] == pytest.approx(expected, abs=1e-6)
    assert report["package"].startswith(dist) and report["blocks"] == "Blocks"
