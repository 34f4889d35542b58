"""The dashboard end to end in headless Chromium, on the project app: start book_trip with
approval from the form, find it, approve it, watch it complete and read its timeline; terminate
and purge; the host and entities pages; a cross-origin POST from another page is refused."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from emulator.http.payloads import WEBHOOK_PATH

TRIP = {"traveler": "Ada", "conference": "PyCon DE", "origin": "Paris", "destination": "Berlin",
        "departure_date": "2026-04-20", "return_date": "2026-04-23"}
WITH_APPROVAL = {**TRIP, "approval": {"required": True}}


def open_page(page, host, route: str, ready: str):
    page.goto(f"{host.base_url}/dashboard/#{route}")
    page.wait_for_selector(f'body[data-ready="{ready}"]')
    return page


def status_of(host, instance_id: str) -> str | None:
    status = host.status(instance_id)
    return status and status["runtimeStatus"]


def awaiting_approval(host, instance_id: str) -> None:
    host.wait_until(instance_id, lambda s: s["customStatus"] == "awaiting approval")


def awaiting_approval_started(host, instance_id: str) -> str:
    host.start("book_trip", WITH_APPROVAL, instance_id=instance_id)
    awaiting_approval(host, instance_id)
    return instance_id


def test_book_trip_with_approval_from_start_to_completed(page, app_host, screenshots):
    # Hold the clock from the host page, or time skipping would fire the 24 h approval timeout.
    open_page(page, app_host, "/host", "host")
    page.click("#clock-hold")
    page.wait_for_selector("#clock-state:text('held')")
    try:
        open_page(page, app_host, "/new", "new")
        page.select_option("#new-name", "book_trip")
        page.fill("#new-id", "dash-trip-approved")
        page.fill("#new-input", '{"traveler": ')  # checked before anything is sent
        assert "Not valid JSON" in page.inner_text("#input-error")
        assert page.is_disabled("#start")
        page.fill("#new-input", json.dumps(WITH_APPROVAL, indent=2))
        assert page.is_enabled("#start")
        screenshots.take(page, "new-orchestration")
        page.click("#start")
        page.wait_for_selector('main[data-instance="dash-trip-approved"]')
        awaiting_approval(app_host, "dash-trip-approved")

        open_page(page, app_host, "/instances?name=book_trip", "instances")
        row = page.wait_for_selector('#instances tr[data-id="dash-trip-approved"]')
        assert "Running" in row.inner_text()
        page.wait_for_selector('#instances tr[data-id="dash-trip-approved"] '
                               ':text("awaiting approval")')  # live refresh shows it
        row.query_selector("a").click()
        page.wait_for_selector('main[data-instance="dash-trip-approved"]')

        page.click('[data-action="raise"]')
        page.fill("#f-event", "approval")
        page.fill("#f-data", '{"approved": true}')
        page.click("dialog button[type=submit]")
        page.wait_for_selector('h1 .badge[data-status="Completed"]')
    finally:
        app_host.request("POST", "/admin/emulator/clock/release").raise_for_status()

    status = app_host.status("dash-trip-approved")
    assert status["output"]["outcome"] == "booked"
    for activity in ("book_conference_ticket", "book_flight", "book_hotel"):
        page.wait_for_selector(f'g.bar[data-name="{activity}"][data-outcome="completed"]')
    assert page.query_selector('g.bar.timer[data-outcome="cancelled"]')  # the lost timeout
    assert page.query_selector('g.point[data-kind="EventRaised"][data-name="approval"]')
    screenshots.take(page, "instance-approval")
    page.click('g.bar[data-name="book_flight"]')
    assert "Output" in page.inner_text("#detail")
    assert "reference" in page.inner_text("#detail")

    page.click('[data-tab="history"]')
    history = page.wait_for_selector("#history").inner_text()
    assert "EventRaised" in history and "ExecutionCompleted" in history


def test_terminate_and_purge_from_the_instance_page(page, app_host):
    with app_host.clock_held():
        instance_id = app_host.start("book_trip", WITH_APPROVAL, instance_id="dash-trip-stop")
        awaiting_approval(app_host, instance_id)
        open_page(page, app_host, f"/instance/{instance_id}", "instance")
        assert page.is_disabled('[data-action="purge"]')  # only finished instances purge
        assert page.is_disabled('[data-action="resume"]')
        page.click('[data-action="suspend"]')
        page.click("dialog button[type=submit]")
        page.wait_for_selector('h1 .badge[data-status="Suspended"]')
        page.click('[data-action="resume"]')
        page.fill("#f-reason", "back on")
        page.click("dialog button[type=submit]")
        page.wait_for_selector('h1 .badge[data-status="Running"]')
        page.click('[data-action="terminate"]')
        page.fill("#f-reason", "changed my mind")
        page.click("dialog button[type=submit]")
        page.wait_for_selector('h1 .badge[data-status="Terminated"]')
    assert app_host.status(instance_id)["output"] == "changed my mind"

    page.click('[data-action="purge"]')
    page.click("dialog button[type=submit]")
    page.wait_for_selector('body[data-ready="instances"]')
    assert app_host.status(instance_id) is None
    open_page(page, app_host, f"/instance/{instance_id}", "instance")
    assert "No instance with id 'dash-trip-stop'" in page.inner_text("#not-found")


def test_rewind_restart_and_a_refused_action_shows_the_apis_message(page, app_host):
    failed = app_host.start("book_trip", {"traveler": 3}, instance_id="dash-trip-bad-input")
    assert app_host.wait(failed)["runtimeStatus"] == "Failed"
    open_page(page, app_host, f"/instance/{failed}", "instance")
    page.click('[data-action="rewind"]')  # enabled for Failed only
    page.fill("#f-reason", "input fixed")
    page.click("dialog button[type=submit]")
    page.wait_for_selector(".toast.ok:text('Rewind: done')")
    # The input is still bad, so the rewound instance fails again; the timeline shows both
    # the failure the rewind cleared and the rewind with its reason.
    page.wait_for_selector('g.point[data-kind="Rewind"]')
    assert page.query_selector('g.point[data-kind="RewoundFailure"]')
    page.click('g.point[data-kind="Rewind"]')
    assert "input fixed" in page.inner_text("#detail")
    assert app_host.wait(failed)["runtimeStatus"] == "Failed"

    page.click('[data-action="restart"]')
    page.uncheck("#f-newId")  # the same id: allowed once the instance has finished
    page.click("dialog button[type=submit]")
    page.wait_for_selector(".toast.ok:text('Restart: done')")

    with app_host.clock_held():
        running = awaiting_approval_started(app_host, "dash-trip-restart-running")
        open_page(page, app_host, f"/instance/{running}", "instance")
        page.click('[data-action="restart"]')
        page.uncheck("#f-newId")  # the same id while it runs: the API refuses
        page.click("dialog button[type=submit]")
        error = page.wait_for_selector(".toast.error").inner_text()
        assert "HTTP 409" in error and "already exists" in error
        app_host.terminate(running)


class _AttackerPage(BaseHTTPRequestHandler):
    """Serves a page on another loopback port that tries to terminate an instance."""

    target = ""

    def do_GET(self):  # noqa: N802 - http.server's name
        body = (f"<!doctype html><form id=f method=POST action='{self.target}'>"
                "<button>win a prize</button></form>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def attacker_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_cross_origin_post_is_refused_and_the_dashboard_one_works(page, app_host,
                                                                    attacker_site):
    with app_host.clock_held():
        instance_id = app_host.start("book_trip", WITH_APPROVAL, instance_id="dash-trip-csrf")
        awaiting_approval(app_host, instance_id)
        terminate = (f"{app_host.base_url}{WEBHOOK_PATH}/instances/"
                     f"{quote(instance_id)}/terminate?reason=csrf")
        _AttackerPage.target = terminate
        page.goto(f"http://127.0.0.1:{attacker_site.server_port}/")
        # A no-cors fetch: the browser sends it, the page cannot read the answer.
        page.evaluate("url => fetch(url, {method: 'POST', mode: 'no-cors'})", terminate)
        # A plain form post, the classic cross-site request: the answer is the refusal.
        with page.expect_navigation():
            page.click("#f button")
        assert "Cross-site request refused" in page.inner_text("body")
        assert status_of(app_host, instance_id) == "Running"

        open_page(page, app_host, f"/instance/{instance_id}", "instance")
        page.click('[data-action="terminate"]')
        page.click("dialog button[type=submit]")
        page.wait_for_selector('h1 .badge[data-status="Terminated"]')
    assert status_of(app_host, instance_id) == "Terminated"


def test_instance_list_filters_paging_and_shareable_urls(page, app_host, screenshots):
    ids = [app_host.start("book_trip", TRIP, instance_id=f"dash-page-{n:02d}")
           for n in range(55)]
    for instance_id in ids:
        app_host.wait(instance_id)
    open_page(page, app_host, "/instances?prefix=dash-page-", "instances")
    page.wait_for_selector("#range:text('1–50 of 55')")
    assert page.input_value("#filter-prefix") == "dash-page-"
    newest = page.query_selector("#instances tbody tr").get_attribute("data-id")
    assert newest == "dash-page-54"  # newest first
    page.click("text=Older ›")
    page.wait_for_selector("#range:text('51–55 of 55')")
    assert "page=1" in page.url  # the URL is shareable
    page.click('.chip[data-status="Failed"]')
    page.wait_for_selector("td.empty")
    assert "status=Failed" in page.url

    open_page(page, app_host, "/instances?prefix=dash-page-", "instances")
    page.wait_for_selector("#range:text('1–50 of 55')")
    app_host.wait(app_host.start("book_trip", TRIP, instance_id="dash-page-55"))
    page.wait_for_selector('#instances tr[data-id="dash-page-55"]')  # live, no reload
    page.wait_for_selector("#range:text('1–50 of 56')")
    page.fill("#filter-from", "2999-01-01T00:00")  # created from: nothing yet
    page.wait_for_selector("td.empty")
    assert "from=2999" in page.url

    open_page(page, app_host, "/instances?status=Completed&prefix=dash-page-0", "instances")
    page.wait_for_selector("#range:text('1–10 of 10')")
    assert page.get_attribute('.chip[data-status="Completed"]', "aria-pressed") == "true"
    with app_host.clock_held():  # two live ones on top of the list for the picture
        waiting = awaiting_approval_started(app_host, "dash-demo-waiting")
        suspended = awaiting_approval_started(app_host, "dash-demo-suspended")
        app_host.suspend(suspended, "on hold")
        app_host.wait_until(suspended, lambda s: s["runtimeStatus"] == "Suspended")
        open_page(page, app_host, "/instances", "instances")
        page.wait_for_selector('#instances tr[data-id="dash-demo-suspended"] '
                               '.badge[data-status="Suspended"]')
        screenshots.take(page, "instances")
        app_host.terminate(waiting)
        app_host.terminate(suspended)


def test_host_page_shows_functions_limits_work_and_the_clock(page, app_host, screenshots):
    open_page(page, app_host, "/host", "host")
    functions = page.inner_text("#functions")
    assert "book_trip" in functions and "orchestrationTrigger" in functions
    assert "/api/orchestrators/{name}" in functions
    assert "maxConcurrentActivityFunctions" in page.inner_text("#limits")
    assert "defaultVersion none" in page.inner_text("#versioning")
    before = app_host.now()
    page.fill("#advance-seconds", "3600")
    page.click("#clock-advance")
    page.wait_for_selector(".toast.ok")
    assert app_host.now() > before
    screenshots.take(page, "host", full_page=True)


def test_the_entities_page_of_an_app_without_entities(page, app_host):
    open_page(page, app_host, "/entities", "entities")
    assert "No entities yet" in page.wait_for_selector("#entities td.empty").inner_text()


def test_sub_orchestrations_link_parent_and_children(page, app_host):
    parent = app_host.start("book_trips", {"trips": [TRIP, {**TRIP, "traveler": "Grace"}]},
                            instance_id="dash-trips")
    assert app_host.wait(parent)["runtimeStatus"] == "Completed"
    open_page(page, app_host, f"/instance/{parent}", "instance")
    bars = page.query_selector_all('g.bar.suborchestration[data-outcome="completed"]')
    assert [b.get_attribute("data-name") for b in bars] == ["book_trip", "book_trip"]
    page.click("dd .links a >> nth=0")  # the first child
    page.wait_for_selector('main[data-instance="dash-trips:trip-0"]')
    page.click(f'dd a[href="#/instance/{parent}"]')  # and back to its parent
    page.wait_for_selector(f'main[data-instance="{parent}"]')


def test_retries_and_backoff_show_on_the_timeline(page, app_host, screenshots):
    request = {**TRIP, "simulate": {"flight": {"fail_times": 3}, "hotel": {"fail_times": 1}}}
    instance_id = app_host.start("book_trip", request, instance_id="dash-trip-retries")
    assert app_host.wait(instance_id)["output"]["fallback"]["to"] == "train"
    open_page(page, app_host, f"/instance/{instance_id}", "instance")
    failed = page.query_selector_all('g.bar[data-name="book_flight"][data-outcome="failed"]')
    assert len(failed) == 3
    assert page.query_selector('g.bar[data-name="book_train"][data-outcome="completed"]')
    assert len(page.query_selector_all('g.bar.timer[data-outcome="fired"]')) == 3  # 2 + 1
    assert "attempt 3" in page.text_content("svg.gantt")
    failed[-1].click()
    assert "TransientProviderError" in page.inner_text("#detail .error-text")
    screenshots.take(page, "instance-timeline", full_page=True)


def test_a_version_given_in_the_form_is_sent_and_shown(page, app_host):
    open_page(page, app_host, "/new", "new")
    page.select_option("#new-name", "book_trip")
    page.fill("#new-id", "dash-trip-versioned")
    page.fill("#new-version", "2.1")
    page.fill("#new-input", json.dumps(TRIP))
    page.click("#start")
    page.wait_for_selector('main[data-instance="dash-trip-versioned"]')
    assert page.inner_text("#instance-version") == "2.1"
    assert app_host.status("dash-trip-versioned")["version"] == "2.1"
    # This app's host.json sets no defaultVersion, so the host holds a 2.1 instance back
    # (versionMatchStrategy CurrentOrOlder): it stays Pending, and the list says which version.
    open_page(page, app_host, "/instances?prefix=dash-trip-versioned", "instances")
    row = page.wait_for_selector('#instances tr[data-id="dash-trip-versioned"]').inner_text()
    assert "2.1" in row and "Pending" in row
    app_host.terminate("dash-trip-versioned")
