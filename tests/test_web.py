"""The web API (`POST /api/derive`), the page's static files, the server's safety, and `--format html`.

Starlette's TestClient drives the app in process; every derivation still
runs in the bounded worker, as it does behind `derive serve`. The browser
tests are in tests/test_web_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

#: (title, expression, wrt, shapes): derived over HTTP, checked against finite differences of NumPy
#: reading the text (check=True), and their exported NumPy module run.
WORKED_EXAMPLES = [
    ("scalar chain rule", "sin(x**2)", None, {}),
    ("total derivative", "sin(x + x**2)", "x", {}),
    ("gradient of two variables", "3*x**2*y", "x,y", {}),
    ("ReLU neuron by the weights", "max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
    ("mean squared error of a ReLU layer", "mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("RNN cell by the input weights", "c = tanh(Wc@cp + Wx@x + b)", "Wx",
     {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}),
    ("softmax cross-entropy by the logits", "-sum(y*log(softmax(z)))", "z", {"y": "n", "z": "n"}),
    ("quadratic form", "x@A@x", "x", {"x": "n", "A": "n,n"}),
]

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "matcalc_sym" / "web" / "static"


@pytest.fixture(scope="module")
def client():
    from starlette.testclient import TestClient

    from matcalc_sym.web.app import create_app
    from matcalc_sym.web.pool import DerivePool, warm_up

    warm_up()
    with TestClient(create_app(DerivePool(workers=2, timeout=20)), base_url="http://127.0.0.1") as c:
        yield c


def post(client, **body):
    return client.post("/api/derive", json=body)


def load(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "exported.py", "exec"), namespace)  # the test runs the module the page offers
    return namespace


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_worked_example_over_http_matches_the_library_and_finite_differences(client, title, text, wrt, shapes):
    from matcalc_sym import derive
    from matcalc_sym.render.latex import result_math
    from matcalc_sym.render.schema import errors

    response = post(client, text=text, wrt=wrt, shapes=shapes, check=True)
    assert response.status_code == 200, response.text
    document = response.json()
    page, formats = document.pop("page"), document.pop("formats")
    assert errors(document) == []
    local = derive(text, wrt, shapes=shapes)
    assert document["result"] == local.to_dict()["result"]  # the same derivation, not a second path
    assert page["result_latex"] == r"\boxed{" + result_math(local) + "}"
    assert page["reports"][0]["kind"] == "check" and page["reports"][0]["good"], page["reports"]
    assert document["check"]["passed"] and document["check"]["points"] >= 1
    # every step appears once, in order, in the blocks, each with its rule
    indices = [step["index"] for block in page["blocks"] for step in block["steps"]]
    assert indices == list(range(len(document["steps"])))
    rules = [step["rule"] for block in page["blocks"] for step in block["steps"]]
    assert rules == [step["rule"] for step in document["steps"]]
    assert [block["kind"] for block in page["blocks"]][0] == "introduce"
    assert page["graph_svg"].startswith("<svg") and "on-path" in page["graph_svg"]
    # the other formats are the renderers' own output
    assert formats["latex"] == local.to_latex(standalone=True)
    assert formats["markdown"] == local.to_markdown()
    module = load(formats["numpy"])
    assert module["check_gradient"]() < 1e-5


def test_the_result_agrees_with_sympy_diff_for_a_scalar_example(client):
    import sympy

    from matcalc_sym import derive

    body = post(client, text="log(sin(x**3)**2)").json()
    local = derive("log(sin(x**3)**2)")
    assert body["result"]["srepr"] == sympy.srepr(local.result)  # the page shows this very expression
    x = next(iter(local.result.free_symbols))
    expected = sympy.diff(sympy.log(sympy.sin(x**3) ** 2), x)
    for point in (0.3, 0.7, 1.1):
        got, want = float(local.result.subs(x, point)), float(expected.subs(x, point))
        assert abs(got - want) < 1e-9 * max(1, abs(want))


def test_the_page_numeric_result_matches_finite_differences_of_numpy(client):
    """The gradient the page shows, evaluated, against central differences of NumPy reading the text."""
    from matcalc_sym import derive

    text, shapes = "sum(tanh(W@x))", {"W": "m,n", "x": "n"}
    assert post(client, text=text, wrt="W", shapes=shapes).status_code == 200
    d = derive(text, "W", shapes=shapes)
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    got = np.asarray(d.evaluate({"W": W, "x": x}), dtype=float)
    h = 1e-6
    numeric = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[i] = h
        numeric[i] = (np.sum(np.tanh((W + step) @ x)) - np.sum(np.tanh((W - step) @ x))) / (2 * h)
    assert np.allclose(got.reshape(numeric.shape) if got.shape == numeric.shape else got.T, numeric, atol=1e-6)


def test_answer_is_checked(client):
    wrong = post(client, text="sin(x**2)", answer="cos(x**2)").json()
    assert wrong["answer"]["correct"] is False
    assert "chain-rule factor" in wrong["page"]["reports"][0]["line"]
    right = post(client, text="x@A@x", wrt="x", shapes="x=n; A=n,n", answer="x@(A + A.T)").json()
    assert right["answer"]["correct"] is True and right["page"]["reports"][0]["good"] is True


def test_layout_and_mode_choices_reach_the_derivation(client):
    numerator = post(client, text="w*x", wrt="w", shapes="w=n x=n", layout="numerator").json()
    denominator = post(client, text="sum(w*x)", wrt="w", shapes="w=n x=n", layout="denominator").json()
    assert numerator["layout"] == "numerator" and denominator["layout"] == "denominator"
    reverse = post(client, text="sum(w*x)", wrt="w", shapes={"w": "n", "x": "n"}, mode="reverse").json()
    assert reverse["chain_rule"] == "backprop"


@pytest.mark.parametrize(("body", "field", "fragment", "caret"), [
    ({"text": "sin(x**2"}, "text", "was never closed", True),
    ({"text": "sine(x)"}, "text", "did you mean 'sin'?", True),
    ({"text": "a + b", "shapes": {"a": "n", "b": "m"}}, "text", "'+'", True),
    ({"text": "w*x", "wrt": "w", "shapes": "w=n,,"}, "shapes", "3 dimensions", False),
    ({"text": "w*x", "wrt": "w", "shapes": "w"}, "shapes", "NAME=DIMS", False),
    ({"text": "w*x", "wrt": "w", "shapes": {"__class__": "n"}}, "shapes", "not a variable name", False),
    ({"text": "w*x", "wrt": "__class__"}, "wrt", "not a variable name", False),
    ({"text": "z = x**2; y = sin(z)", "wrt": "z"}, "wrt", "assigned in the expression", False),
    ({"text": "sin(x**2)", "answer": "cos(x**2"}, "answer", "never closed", False),
    ({"text": "sin(x**2)", "layout": "sideways"}, "layout", "layout must be one of", False),
    ({"text": "sin(x**2)", "mode": 3}, "mode", "mode must be one of", False),
    ({"text": ""}, "text", "empty input", False),
    ({}, "text", "write an expression", False),
    ({"text": 12}, "text", "must be a string", False),
    ({"text": "x", "eval": "1"}, "text", "unknown field 'eval'", False),
])
def test_errors_are_one_line_under_their_field(client, body, field, fragment, caret):
    response = post(client, **body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["field"] == field
    assert fragment in payload["error"] and "\n" not in payload["error"]
    assert (payload["caret"] is not None) == caret
    if caret:
        assert payload["caret"].rstrip().endswith("^")


def test_a_near_miss_wrt_is_a_note_with_a_suggestion(client):
    body = post(client, text="sin(x1)", wrt="x2").json()
    assert any("did you mean 'x1'?" in note for note in body["notes"])


def test_hostile_expressions_over_http_get_400_and_the_server_stays_healthy(client, tmp_path):
    from tests.hostile_cases import EXPRESSIONS

    canary = tmp_path / "canary"
    for case, text, fragment in EXPRESSIONS:
        start = time.perf_counter()
        text = text.replace("{canary}", str(canary)).replace("{{", "{").replace("}}", "}")
        response = post(client, text=text)
        assert response.status_code == 400, (case, response.text[:200])
        payload = response.json()
        assert fragment in payload["error"], (case, payload)
        assert "\n" not in payload["error"] and "Traceback" not in response.text
        assert time.perf_counter() - start < 10, case
    assert not canary.exists()
    assert client.get("/api/health").json() == {"status": "ok"}
    assert post(client, text="sin(x**2)").status_code == 200


def test_request_limits_and_content_type(client):
    too_big = client.post("/api/derive", content=b'{"text": "' + b"x+" * (1_100_000) + b'x"}',
                          headers={"content-type": "application/json"})
    assert too_big.status_code == 413 and "larger than" in too_big.json()["error"]
    form = client.post("/api/derive", data={"text": "sin(x)"})
    assert form.status_code == 415
    broken = client.post("/api/derive", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"] == "the request is not valid JSON"
    assert client.get("/api/derive").status_code == 405
    assert post(client, text="sin(x**2)").status_code == 200


def test_only_this_machine_may_name_the_host(client):
    assert client.get("/api/health", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/health", headers={"host": "localhost:8000"}).status_code == 200


def test_a_slow_request_times_out_with_its_stage_and_the_server_carries_on():
    from starlette.testclient import TestClient

    from matcalc_sym.web.app import create_app
    from matcalc_sym.web.pool import DerivePool

    with TestClient(create_app(DerivePool(workers=1, timeout=0.5)), base_url="http://127.0.0.1") as c:
        slow = "+".join(f"sin(x{i})*cos(x{i}**2)*exp(x{i})" for i in range(300))
        start = time.perf_counter()
        response = c.post("/api/derive", json={"text": slow, "wrt": ",".join(f"x{i}" for i in range(300))})
        assert time.perf_counter() - start < 5
        assert response.status_code == 400
        assert response.json()["error"].startswith("timed out after 0.5 s while in stage")
        assert response.json()["exit_status"] == 4
        assert c.post("/api/derive", json={"text": "x**3"}).status_code in (200, 400)


def test_the_pool_runs_at_most_its_workers_and_refuses_beyond_its_queue():
    from matcalc_sym.web.pool import Busy, DerivePool
    from matcalc_sym.web.request import parse_request

    pool = DerivePool(workers=1, queue=1, timeout=20)
    question = parse_request({"text": "sin(x**2)"})

    async def three():
        return await asyncio.gather(*(pool.derive(question) for _ in range(3)), return_exceptions=True)

    outcomes = asyncio.run(three())
    assert sum(isinstance(o, Busy) for o in outcomes) == 1
    assert [o[0] for o in outcomes if not isinstance(o, Busy)] == [200, 200]


def test_every_response_carries_the_content_security_policy(client):
    for path in ("/", "/static/app.js", "/api/examples", "/nowhere"):
        policy = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-eval" not in policy
        assert "script-src 'self';" in policy  # no 'unsafe-inline' for scripts
    assert client.get("/").headers["x-content-type-options"] == "nosniff"


def test_the_page_has_no_inline_scripts_handlers_or_remote_loads():
    page = (STATIC / "index.html").read_text()
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", page))
    for name in ("index.html", "app.js", "derivation.js", "style.css"):
        text = (STATIC / name).read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "eval(" not in text and "innerHTML" not in text, name
    assert not re.search(r"url\((https?:)?//", (STATIC / "katex" / "katex.min.css").read_text())


def test_katex_is_vendored_with_its_licence_and_fonts():
    katex = STATIC / "katex"
    assert "MIT License" in (katex / "LICENSE").read_text()
    version = re.search(r"KaTeX (\d+\.\d+\.\d+)", (katex / "VERSION").read_text()).group(1)
    assert f"version:\"{version}\"" in (katex / "katex.min.js").read_text().replace(" ", "")
    fonts = re.findall(r"fonts/([A-Za-z0-9_-]+)\.woff2", (katex / "katex.min.css").read_text())
    assert fonts and all((katex / "fonts" / f"{font}.woff2").exists() for font in fonts)


def test_static_files_are_served_and_paths_cannot_escape(client):
    assert client.get("/static/katex/katex.min.css").status_code == 200
    assert client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


def test_gallery_examples_are_the_gallery_pages_entries(client):
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    build = importlib.util.module_from_spec(spec)
    sys.modules["docs_build"] = build
    spec.loader.exec_module(build)
    expected = [(p.title, e.sentence, e.text, e.wrt, dict(e.shapes), e.answer, e.second) for p in build.PAGES
                for e in p.entries if not e.rules]
    served = [(e["page"], e["sentence"], e["text"], e["wrt"], e["shapes"], e["answer"], e["second"])
              for e in client.get("/api/examples").json()]
    assert served == expected
    assert {e[-1] for e in served} == {None, "hessian", "hvp"}  # the second-derivative page is on the page


def test_every_gallery_example_derives_over_http(client):
    from matcalc_sym.web.examples import GALLERY

    assert any(example.second for example in GALLERY), "the second-derivative page is in the gallery"
    for example in GALLERY:
        extra = {"answer": example.answer} if example.answer is not None else {}
        extra.update({"second": example.second} if example.second else {})
        response = post(client, text=example.text, wrt=example.wrt, shapes=example.shapes, **extra)
        assert response.status_code == 200, (example.text, response.text[:300])
        page = response.json()["page"]
        assert page["blocks"] and page["result_latex"].startswith(r"\boxed{")
        assert (response.json().get("second") or {}).get("kind") == example.second
        if example.answer is not None:  # the gallery's "check my answer" examples come with their report
            (report,) = [r for r in page["reports"] if r["kind"] == "answer"]
            assert report["line"].startswith("answer NOT correct" if "accepted" not in example.sentence
                                             else "answer correct")


def test_the_dag_svg_escapes_names_and_marks_paths():
    from matcalc_sym import derive
    from matcalc_sym.web.dag import dag_svg, layers

    d = derive("sin(x + x**2)")
    svg = dag_svg(d)
    assert svg.count('class="node') == len(d.dataflow.order)
    assert svg.count("on-path") >= 4
    assert layers(d.dataflow)["x"] == 0 and layers(d.dataflow)[d.dataflow.output] == max(layers(d.dataflow).values())
    w = derive("where(x < 1, x**2, 0)")
    assert "&lt;" in dag_svg(w) and "x < 1" not in dag_svg(w)


# -- the standalone file ---------------------------------------------------------


def test_standalone_html_inlines_katex_and_fonts_and_escapes_the_data(tmp_path):
    from matcalc_sym import derive
    from matcalc_sym.web.document import page_document

    d = derive("where(x < 1, x**2, 0)")
    page = d.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "data:font/woff2;base64," in page and "url(fonts/" not in page
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)  # tags, not script text
    assert markup.count("<script") == 4  # KaTeX, derivation.js, the data, the call
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", markup)  # nothing loaded from anywhere
    data = re.search(r'<script type="application/json" id="matcalc-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data
    assert json.loads(data) == json.loads(json.dumps(page_document(d, with_formats=False)))


def test_html_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from matcalc_sym.cli import app

    out = tmp_path / "steps.html"
    result = CliRunner().invoke(app, ["sin(x**2)", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "MatcalcDerivation.render" in out.read_text() and "2 x \\\\cos" in out.read_text()
    result = CliRunner().invoke(app, ["sin(x**2)", "--format", "html"])
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")


def test_every_output_format_of_a_web_example_renders():
    from matcalc_sym import derive

    d = derive("c = tanh(Wc@cp + Wx@x + b)", "Wx",
               shapes={"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"})
    assert "Result" in d.to_text()
    assert d.to_latex(standalone=True).endswith("\\end{document}\n")
    assert "### Result" in d.to_markdown()
    assert d.to_dict()["gradients"]["Wx"]["text"]
    assert load(d.to_numpy())["check_gradient"]() < 1e-5
    assert "\\\\boxed{" in d.to_html()


def test_serve_options_are_checked():
    from matcalc_sym.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", "--workers", "0"])
    assert info.value.code == 2


@pytest.mark.slow
def test_wheel_ships_the_page_and_katex(tmp_path):
    """`derive serve` works from an installed wheel: every static file of the page is inside it."""
    import subprocess
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("matcalc_sym-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"matcalc_sym/web/static/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*") if p.is_file()}
    assert expected and expected <= names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert any("starlette" in line for line in requires) and any("uvicorn" in line for line in requires)


@pytest.mark.slow
def test_load_fifty_concurrent_requests_all_answered_correctly():
    """benchmarks/web_load.py against a real `derive serve`: 50 mixed DESIGN examples at once."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("web_load", ROOT / "benchmarks" / "web_load.py")
    web_load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(web_load)
    process, base = web_load.start_server(workers=2)
    try:
        report = web_load.run_load(base, requests=50, concurrency=50)
        with __import__("urllib.request").request.urlopen(base + "/api/health", timeout=5) as reply:
            assert json.loads(reply.read()) == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(10)
    assert report["wrong"] == []
    assert 0 < report["p50"] <= report["p95"] <= report["max"] < 120
    print(f"\nweb load: p50 {report['p50']:.2f} s, p95 {report['p95']:.2f} s, {report['throughput']:.1f} requests/s")


@pytest.mark.parametrize(("second", "text", "wrt", "shapes", "in_result"), [
    ("hessian", "x@A@x", "x", {"x": "n", "A": "n,n"}, r"\mathrm{A}^{T}"),
    ("hessian", "x**2*y + sin(y)", "x,y", {}, r"\sin"),
    ("hvp", "logdet(X)", "X", {"X": "n,n"}, r"\mathrm{V}"),
])
def test_a_second_derivative_over_http_is_the_librarys(client, second, text, wrt, shapes, in_result):
    """The page asks for a Hessian or an HVP (`second`); the result, steps and check are the library's."""
    from matcalc_sym import derive
    from matcalc_sym.render.latex import result_math

    response = post(client, text=text, wrt=wrt, shapes=shapes, second=second, check=True)
    assert response.status_code == 200, response.text[:300]
    document = response.json()
    local = derive(text, wrt, shapes=shapes, **{second: True})
    assert document["second"]["kind"] == second
    assert document["page"]["result_latex"] == r"\boxed{" + result_math(local) + "}"
    assert in_result in document["page"]["result_latex"]
    assert document["page"]["blocks"][0]["kind"] == "gradient"  # stage 1, collapsed, comes first
    assert document["check"]["passed"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"text": "x@A@x", "wrt": "x", "shapes": {"x": "n", "A": "n,n"}, "second": "third"}, "second",
     "second must be one of hessian, hvp"),
    ({"text": "x@A@x", "wrt": "x", "shapes": {"x": "n", "A": "n,n"}, "second": "hessian", "layout": "numerator"},
     "second", "layout= is not available with hessian=True"),
    ({"text": "sin(x)", "second": "hvp"}, "second", "--hvp is for a vector or matrix variable"),
])
def test_a_second_derivative_error_is_shown_under_its_control(client, body, field, message):
    response = client.post("/api/derive", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field and message in response.json()["error"], response.json()
