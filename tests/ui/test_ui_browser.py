"""The server's pages in a real headless Chromium: login, training, QC, compare, cancel, no console errors."""

from __future__ import annotations

import re
import time

import httpx

# Records every value the job page's progress bar takes (attribute changes made by the SSE handler),
# in sessionStorage so it survives the page's reload when the job ends.
PROGRESS_SPY = """
document.addEventListener('DOMContentLoaded', () => {
  const bar = document.getElementById('job-progress');
  if (!bar) return;
  const key = 'seen:' + location.pathname;
  const seen = JSON.parse(sessionStorage.getItem(key) || '[]');
  new MutationObserver(() => {
    seen.push([parseFloat(bar.getAttribute('value')), document.getElementById('job-state').textContent]);
    sessionStorage.setItem(key, JSON.stringify(seen));
  }).observe(bar, {attributes: true, attributeFilter: ['value']});
});
"""


def nav(page, name: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
    page.wait_for_load_state()


def job_id_of(page) -> str:
    m = re.search(r"/ui/jobs/([0-9a-f]{20})$", page.url)
    assert m, page.url
    return m.group(1)


def wait_state(page, states: tuple[str, ...], timeout: float = 60_000) -> str:
    """Wait until the job page shows one of ``states``.

    For final states, wait for the page rendered by the server after the job ended (the page
    reloads on the stream's ``end`` event; its ``data-state`` is the server's), not only for the
    live text, so the result sections are there.
    """
    final = all(s in ("succeeded", "failed", "cancelled", "timeout", "interrupted") for s in states)
    probe = ("document.getElementById('job-status').dataset.state" if final
             else "document.getElementById('job-state').textContent.trim()")
    page.wait_for_function(f"(states) => states.includes({probe})", arg=list(states), timeout=timeout)
    page.wait_for_load_state()
    return page.locator("#job-state").inner_text().strip()


def images_loaded(page, selector: str) -> list[int]:
    """naturalWidth of every image matched (0 for a broken one), after they finished loading."""
    page.wait_for_function(f"() => [...document.querySelectorAll({selector!r})].every(i => i.complete)")
    return page.eval_on_selector_all(selector, "els => els.map(e => e.naturalWidth)")


# -- login ------------------------------------------------------------------------------------------
def test_pages_need_the_token_and_login_sets_a_strict_http_only_cookie(ui):
    page, server = ui.page, ui.server
    page.goto(server.url + "/ui/models")
    assert "/ui/login" in page.url and "next=" in page.url
    # no session: the API refuses the page's requests too
    assert page.evaluate("async () => (await fetch('/info')).status") == 401
    page.get_by_label("Token").fill("0" * 48)
    page.get_by_role("button", name="Log in").click()
    assert page.locator("#login-error").inner_text().startswith("Wrong token")
    assert "/ui/login" in page.url and page.context.cookies() == []
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/models")  # back where the user wanted to go
    assert page.get_by_role("heading", name="Models").is_visible()
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["name"].startswith("fijax_session")
    assert server.token not in cookie["value"] and server.token not in page.url
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the session
    assert page.evaluate("async () => (await fetch('/info')).status") == 200
    # log out: the session ends on the server too
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/ui/login")
    assert page.evaluate("async () => (await fetch('/info')).status") == 401
    # Chromium logs each refused request (two fetches, the wrong login): expected here, and only those
    expected = [e for e in ui.errors if "status of 401" in e]
    assert len(expected) == 3, ui.errors
    ui.errors[:] = [e for e in ui.errors if e not in expected]


def test_a_pasted_url_with_the_token_logs_in_and_drops_the_token_from_the_address(ui):
    page, server = ui.page, ui.server
    page.goto(f"{server.url}/ui/qc?token={server.token}")
    assert page.url == f"{server.url}/ui/qc"
    assert page.get_by_role("heading", name="Quality control").is_visible()
    assert [c["httpOnly"] for c in page.context.cookies()] == [True]


def test_cookie_requests_need_same_origin_and_the_csrf_token(ui_server):
    url = ui_server.url
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/ui/login", data={"token": ui_server.token}, headers={"Origin": url})
        assert r.status_code == 303
        page = c.get("/ui/jobs")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        assert c.get("/info").status_code == 200
        job = "0" * 20
        # cross-site form post, or no Origin at all: refused before anything runs
        r = c.post(f"/jobs/{job}/cancel", headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf})
        assert r.status_code == 403 and "cross-origin" in r.text
        r = c.post(f"/jobs/{job}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
        # another port of the same host is the same *site* for SameSite, but not the same origin
        other = re.sub(r":\d+$", ":1", url)
        assert c.post(f"/jobs/{job}/cancel", headers={"Origin": other, "X-CSRF-Token": csrf}).status_code == 403
        # same origin without the CSRF token, or with a wrong one: refused
        assert c.post(f"/jobs/{job}/cancel", headers={"Origin": url}).status_code == 403
        assert c.post(f"/jobs/{job}/cancel", headers={"Origin": url, "X-CSRF-Token": "x" + csrf}).status_code == 403
        # same origin with the token: reaches the API (404: no such job)
        assert c.post(f"/jobs/{job}/cancel", headers={"Origin": url, "X-CSRF-Token": csrf}).status_code == 404
        # log out needs the form's CSRF field
        assert c.post("/ui/logout", data={"csrf": "wrong"}, headers={"Origin": url}).status_code == 400
        assert c.post("/ui/logout", data={"csrf": csrf}, headers={"Origin": url}).status_code == 303
        assert c.get("/info").status_code == 401
    # the token header still works alone, pages included; pages without it redirect to the login
    with ui_server.api() as api:
        assert api.get("/ui/jobs").status_code == 200 and api.get("/info").status_code == 200
    r = httpx.get(url + "/ui/jobs")
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert httpx.get(url + "/ui/static/ui.js").status_code == 200  # public, like /health
    assert httpx.get(url + "/ui/static/..%2Fauth.py").status_code == 404
    assert httpx.get(url + "/ui/jobs", headers={"Host": "evil.example"}).status_code == 403


# -- training -----------------------------------------------------------------------------------------
def test_training_started_from_the_page_shows_progress_and_lands_in_models(ui, tiffs):
    page = ui.page
    page.add_init_script(PROGRESS_SPY)
    ui.login()
    nav(page, "Train")
    page.get_by_label("Model name").fill("ui-n2v")
    page.get_by_label("Task").select_option("n2v")
    page.get_by_label("Source images").set_input_files(tiffs["noisy"])
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Steps per epoch").fill("3")
    page.get_by_label("Batch size").fill("4")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{20}$"))
    path = "/ui/jobs/" + job_id_of(page)
    assert wait_state(page, ("succeeded", "failed"), 120_000) == "succeeded", page.locator("#job-status").inner_text()
    seen = page.evaluate(f"JSON.parse(sessionStorage.getItem('seen:{path}') || '[]')")
    assert any(0 < v < 1 for v, _ in seen), f"no intermediate progress seen: {seen}"
    assert any(state == "running" for _, state in seen)
    # the job's page links the registered model; its page says the hashes check out
    page.locator("#trained-model").click()
    page.wait_for_url("**/ui/models/ui-n2v/1")
    assert "verified" in page.locator("#model-verified").inner_text()
    assert "from scratch" in page.locator("#lineage").inner_text()
    assert page.locator("#data-hashes td code").first.inner_text().strip().isalnum()
    assert page.locator("svg.curve polyline").count() >= 1
    page.get_by_role("button", name="Training report").click()
    link = page.locator("#report-link")
    link.wait_for(timeout=60_000)
    report = ui.new_page()  # the report opens in a new tab, sandboxed; it must render without errors
    report.goto(ui.server.url + link.get_attribute("href"))
    assert "ui-n2v" in report.locator("h1").inner_text()
    assert all(w > 0 for w in images_loaded(report, "img"))
    report.close()
    # the domain section: the reference (or why there is none) and, with one, a check of an image
    domain = page.locator("#domain-ref").inner_text()
    assert domain.strip()
    if page.locator("#check-form").count():
        page.get_by_label("Check an image against this domain").set_input_files(tiffs["noisy"])
        page.locator("#check-form").get_by_role("button", name="Check", exact=True).click()
        page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{20}$"))
        assert wait_state(page, ("succeeded", "failed")) == "succeeded", page.locator("#job-status").inner_text()
        assert "domain" in page.locator("#verdicts").inner_text()
    else:
        assert "domain reference" in domain
    nav(page, "Models")
    row = page.locator('#models-table tr[data-model="ui-n2v:1"]')
    assert "verified" in row.inner_text() and "n2v" in row.inner_text()


# -- QC ----------------------------------------------------------------------------------------------
def test_qc_run_page_shows_its_verdict_and_maps_with_zoom(ui, tiffs):
    page = ui.page
    ui.login()
    nav(page, "QC")
    page.get_by_label("Ground truth (TIFF)").set_input_files(tiffs["gt"])
    page.get_by_label("Prediction (TIFF)").set_input_files(tiffs["prediction"])
    page.get_by_label("Source / raw input").set_input_files(tiffs["source"])
    page.get_by_role("button", name="Run QC").click()
    page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{20}$"))
    assert wait_state(page, ("succeeded", "failed")) == "succeeded", page.locator("#job-status").inner_text()
    verdicts = page.locator("#verdicts").inner_text()
    assert "Verdict" in verdicts and "improves" in verdicts and "does not" not in verdicts
    maps = page.locator("section:has(#maps-h) img")
    alts = maps.evaluate_all("els => els.map(e => e.alt)")
    assert any("SSIM" in a for a in alts) and any("RSE" in a for a in alts), alts
    assert all(w == 64 for w in images_loaded(page, "section:has(#maps-h) img")), "a map did not load"
    assert all(w > 0 for w in images_loaded(page, "section:has(#fig-h) img")), "a panel did not load"
    assert "prediction vs GT" in page.locator("#result-table").inner_text()
    # zoom: keyboard-operable dialog
    page.locator("button.zoomable", has=page.locator("img[alt*='SSIM']")).first.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#zoom")
    assert dialog.is_visible()
    page.wait_for_function("document.getElementById('zoom-img').naturalWidth > 0")
    fit = page.locator("#zoom-level").inner_text()
    page.keyboard.press("+")
    assert page.locator("#zoom-level").inner_text() != fit
    width = page.evaluate("document.getElementById('zoom-img').getBoundingClientRect().width")
    assert width > 64
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    # the QC page lists the run with its verdict
    job = job_id_of(page)
    nav(page, "QC")
    row = page.locator(f'#qc-runs tr[data-job="{job}"]')
    assert "improves" in row.inner_text()


# -- compare ------------------------------------------------------------------------------------------
def test_compare_on_an_uploaded_image_shows_the_figure_and_table(ui, tiffs):
    page = ui.page
    # an earlier job's output to pick as the ground truth (a blur so slight it is the GT itself)
    with ui.server.api() as api:
        files = {"image": ("gt.tif", tiffs["gt"].read_bytes())}
        earlier = api.post("/ops/test_blur", files=files, data={"options": '{"sigma": 0.01}'}).json()
    ui.login()
    nav(page, "Compare")
    page.get_by_label("Upload a TIFF", exact=True).set_input_files(tiffs["source"])
    pick = page.get_by_label("…or pick one")
    (label,) = [o for o in pick.locator("option").all_inner_texts() if earlier["id"][:8] in o]
    pick.select_option(label=label)
    for box in page.locator("input[data-option-join=model]").all():
        box.uncheck()  # classical methods only: quick
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r".*/ui/jobs/[0-9a-f]{20}$"))
    assert wait_state(page, ("succeeded", "failed"), 120_000) == "succeeded", page.locator("#job-status").inner_text()
    assert "Best method" in page.locator("#verdicts").inner_text()  # scored: the picked GT arrived
    assert "Inputs: image, gt" in page.locator("details", has_text="Options and inputs").text_content()
    figure = page.locator("img[alt='Figure comparison.png']")
    assert figure.count() == 1
    assert all(w > 0 for w in images_loaded(page, "section:has(#fig-h) img"))
    table = page.locator("#result-table").inner_text()
    assert "Raw" in table and "Gaussian" in table and "Median" in table and "raw input" in table


def test_compare_form_says_what_is_missing(ui):
    page = ui.page
    ui.login()
    nav(page, "Compare")
    page.get_by_role("button", name="Compare").click()
    err = page.locator("#compare-form .error")
    err.wait_for()
    assert "image" in err.inner_text()
    ui.errors[:] = [e for e in ui.errors if "400" not in e]  # the refused request itself is logged by Chromium


# -- cancel --------------------------------------------------------------------------------------------
def test_cancel_from_the_job_page(ui):
    page, server = ui.page, ui.server
    with server.api() as api:
        job = api.post("/ops/test_sleep", params={"wait": "false"}, json={"seconds": 60}).json()
    ui.login()
    page.goto(f"{server.url}/ui/jobs")
    assert page.locator(f'#jobs-table tr[data-job="{job["id"]}"]').count() == 1
    page.goto(f"{server.url}/ui/jobs/{job['id']}")
    wait_state(page, ("running",))
    page.get_by_role("button", name="Cancel job").click()
    assert wait_state(page, ("cancelled", "succeeded", "failed")) == "cancelled"
    assert page.get_by_role("button", name="Resume").is_visible()
    with server.api() as api:
        deadline = time.monotonic() + 10
        while api.get(f"/jobs/{job['id']}").json()["state"] != "cancelled" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.get(f"/jobs/{job['id']}").json()["state"] == "cancelled"


def test_every_page_has_one_main_heading_and_labelled_controls(ui):
    page = ui.page
    ui.login()
    for path in ("/ui/jobs", "/ui/models", "/ui/qc", "/ui/compare", "/ui/train"):
        page.goto(ui.server.url + path)
        assert page.locator("h1").count() == 1, path
        unlabelled = page.eval_on_selector_all(
            "main input:not([type=hidden]), main select",
            "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)")
        assert unlabelled == [], path
        # the keyboard reaches the main navigation first (after the skip link)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
