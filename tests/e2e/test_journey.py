"""The whole journey of the product page in a real browser (Debian Chromium driven by Playwright):
the sandbox console plays HERP Hire, the emulator plays Microsoft 365 and its "Outlook" view plays
the people in Outlook. Every step checks what the pages show, and saves a screenshot.

Screenshots go to $JOURNEY_SCREENSHOTS (`make screenshots` sets docs/images), else
.devtools/journey/; they stay there after a failure, with `failure-*.png` of every open page.
Skipped only when Playwright or /usr/bin/chromium is missing, saying why (`make test` installs
both where the machine allows it: root with apt)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest

from devtools import stack
from devtools.emulator import seed
from tests.e2e.conftest import host_settings

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
CONTOSO = seed.CONTOSO_TENANT_ID
AIKO, BEN, EMI, FUMI = (seed.UPN[i] for i in (seed.AIKO_ID, seed.BEN_ID, seed.EMI_ID, seed.FUMI_ID))
WAIT = 30_000  # ms: queue-driven work (room sync, notifications) lands within a few seconds


def _no_chromium_reason() -> str | None:
    if os.path.exists(CHROMIUM):
        return None
    if shutil.which("apt-get") is None:
        return f"no {CHROMIUM}, and no apt-get to install it (Debian's chromium package)"
    if os.geteuid() != 0:
        return f"no {CHROMIUM}: `make test-tools` installs it with apt-get, which needs root"
    return f"no {CHROMIUM}: run `make test-tools` (apt-get install chromium) first"


@pytest.fixture(scope="module")
def sandbox(stack_dir, azurite, emulator):
    """A host whose HERP_APP_URL is a console, like `make run`; both on free ports."""
    host_port, console_port = stack.free_port(), stack.free_port()
    console_url = f"http://localhost:{console_port}"
    env = host_settings(azurite, emulator, host_port, console_url)
    logs = stack_dir / "journey-logs"
    host = stack.start_host(logs, env, port=host_port)
    console = stack.start_console(logs, {**env, "CONSOLE_API_URL": host.url}, port=console_port)
    yield console
    console.stop()
    host.stop()


@pytest.fixture
def shots():
    folder = Path(os.environ.get("JOURNEY_SCREENSHOTS") or stack.ROOT / ".devtools" / "journey")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_whole_journey_in_a_browser(sandbox, emulator, ms, shots):
    reason = _no_chromium_reason()
    if reason:
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make setup)")
    expect = sync_api.expect
    expect.set_options(timeout=WAIT)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900}, locale="ja-JP")
        context.on("page", lambda pg: pg.on("dialog", lambda d: d.accept()))
        console, outlook = context.new_page(), context.new_page()
        try:
            Journey(console, outlook, sandbox.url, emulator.url, shots, expect).run()
        except BaseException:
            for name, pg in (("console", console), ("outlook", outlook)):
                pg.screenshot(path=str(shots / f"failure-{name}.png"), full_page=True)
            raise
        finally:
            browser.close()


class Journey:
    def __init__(self, console, outlook, console_url, emulator_url, shots, expect):
        self.page, self.outlook = console, outlook
        self.base, self.emulator, self.shots, self.expect = console_url, emulator_url, shots, expect
        tomorrow = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date() + dt.timedelta(days=7)
        self.day = tomorrow.isoformat()

    # --- helpers -----------------------------------------------------------------------------------
    def shot(self, name: str, page=None, element=None):
        target = element if element is not None else (page or self.page)
        kwargs = {} if element is not None else {"full_page": True}
        target.screenshot(path=str(self.shots / f"journey-{name}.png"), **kwargs)

    def as_(self, account_id: str, path: str):
        self.page.goto(f"{self.base}/?next={path}")
        self.page.click(f"button[value={account_id}]")
        self.page.wait_for_url(f"{self.base}{path}*")

    def toast(self, text: str):
        self.expect(self.page.locator("#toast")).to_contain_text(text)
        assert "completion=" not in self.page.url and "result=" not in self.page.url

    def sign_in(self, upn: str):
        self.page.click(f"button[value='{upn}']")

    def outlook_event(self, subject: str):
        self.outlook.goto(f"{self.emulator}/_emulator/outlook")
        return self.outlook.locator(f"section.mailbox[data-upn='{EMI}'] article.event[data-subject='{subject}']").first

    # --- the steps ------------------------------------------------------------------------------
    def run(self):
        self.step1_admin_links_the_tenant()
        self.step2_member_links_an_account()
        subject, room = self.step3_member_creates_an_interview()
        join = self.step4_outlook_shows_it(subject, room)
        self.step5_member_moves_it(subject, join)
        self.step6_interviewer_declines_in_outlook(subject)
        self.step7_member_cancels_with_notice(subject)
        self.step7b_member_holds_slots_and_confirms_one()
        self.step8_admin_account_deleted()
        self.step9_another_admin_renews()
        self.step10_admin_unlinks()

    def step1_admin_links_the_tenant(self):
        page = self.page
        self.as_("u-admin-1", "/settings/integrations/outlook")
        self.shot("01a-integrations")
        page.click("#link-tenant")
        page.wait_for_url("**/organizations/v2.0/adminconsent**")
        self.shot("01b-consent")
        self.sign_in(AIKO)  # consent page -> callback -> the tenant's sign-in page
        page.wait_for_url(f"**/{CONTOSO}/oauth2/v2.0/authorize**")
        self.sign_in(AIKO)  # sign-in -> callback -> the console, which confirms the completion
        page.wait_for_url(f"{self.base}/settings/integrations/outlook/{CONTOSO}*")
        self.toast("tenant linked")
        self.expect(page.locator("#tenant-status")).to_have_attribute("data-status", "active")
        self.expect(page.locator("#content")).to_contain_text("Contoso Ltd.")
        self.expect(page.locator("#room-count")).to_have_text("250")  # the page follows the background sync
        self.expect(page.locator("#content")).to_contain_text(AIKO)
        self.shot("01c-tenant-detail")

    def step2_member_links_an_account(self):
        page = self.page
        self.as_("u-member-1", "/settings/accounts/outlook")
        page.click(f"section[data-tenant-id='{CONTOSO}'] button.link-account")
        page.wait_for_url(f"**/{CONTOSO}/oauth2/v2.0/authorize**")
        self.sign_in(EMI)
        page.wait_for_url(f"{self.base}/settings/accounts/outlook*")
        self.toast("account linked")
        row = page.locator(f"section[data-tenant-id='{CONTOSO}'] tbody tr", has_text=EMI)
        self.expect(row).to_contain_text("有効 (active)")
        self.shot("02-member-linked")

    def step3_member_creates_an_interview(self) -> tuple[str, str]:
        page = self.page
        self.as_("u-member-1", "/events")
        form = page.locator("#event-form")
        self.expect(form).to_be_visible()
        page.select_option("select[name=calendar]", label=f"{EMI} / Calendar (既定)")
        self.expect(page.locator("select[name=building] option", has_text="Tokyo HQ")).to_have_count(1)
        subject = "一次面接: 山田 太郎 様"
        page.fill("input[name=subject]", subject)
        page.fill("input[name=date]", self.day)
        page.fill("input[name=start]", "10:00")
        page.fill("input[name=end]", "11:00")
        page.fill("textarea[name=attendees]", FUMI)
        page.fill("input[name=min_capacity]", "6")
        page.select_option("select[name=building]", "Tokyo HQ")
        page.click("#find-rooms")
        first = page.locator("#found-rooms li.room").first
        self.expect(first).to_contain_text("Tokyo HQ")
        room = re.search(r"[\w.-]+@contoso\.onmicrosoft\.com", first.inner_text()).group(0)
        first.locator("button").click()
        self.expect(page.locator("#chosen-rooms")).to_contain_text(room)
        page.click("#show-availability")
        grid = page.locator("table.freebusy")
        self.expect(grid).to_contain_text(FUMI)
        self.expect(grid).to_contain_text(room)
        assert page.locator("input[name=online_meeting]").is_checked()
        self.shot("03a-create-form")
        page.click("#create-event")
        self.toast("interview created")
        card = page.locator("section.event").first
        self.expect(card.locator(".join a")).to_have_attribute("href", re.compile(r"^https://teams\.microsoft\.com/"))
        self.expect(card.locator(f".rooms li[data-email='{room}']")).to_be_visible()
        self.expect(card.locator(".when")).to_contain_text(f"{self.day} 10:00")
        self.shot("03b-created")
        return subject, room

    def step4_outlook_shows_it(self, subject: str, room: str) -> str:
        article = self.outlook_event(subject)
        self.expect(article).to_contain_text(room)
        join = article.locator("a.join").get_attribute("href")
        assert join and join.startswith("https://teams.microsoft.com/")
        self.expect(article.locator(".body")).to_contain_text("Microsoft Teams meeting", use_inner_text=False)
        for _ in range(20):  # the room answers a second after the request
            if "承諾 (accepted)" in article.locator(f"tr[data-email='{room}'] .response").inner_text():
                break
            self.page.wait_for_timeout(500)
            article = self.outlook_event(subject)
        self.expect(article.locator(f"tr[data-email='{room}'] .response")).to_contain_text("accepted")
        self.shot("04-outlook-view", element=article)
        return join

    def step5_member_moves_it(self, subject: str, join: str):
        page = self.page
        card = page.locator("section.event").first
        card.get_by_role("button", name="編集 (edit)").click()
        card.locator("form.edit input[name=start]").fill("14:00")
        card.locator("form.edit input[name=end]").fill("15:00")
        card.locator("form.edit button[type=submit]").click()
        self.toast("interview updated")
        self.expect(page.locator("section.event").first.locator(".when")).to_contain_text(f"{self.day} 14:00 – 15:00")
        self.expect(page.locator("section.event").first.locator(".join a")).to_have_attribute("href", join)
        self.shot("05a-moved")
        article = self.outlook_event(subject)
        self.expect(article.locator(".when")).to_contain_text(f"{self.day} 14:00 – 15:00")
        self.expect(article.locator("a.join")).to_have_attribute("href", join)
        self.shot("05b-outlook-moved", element=article)

    def step6_interviewer_declines_in_outlook(self, subject: str):
        article = self.outlook_event(subject)
        article.locator(f"tr[data-email='{FUMI}'] button", has_text="辞退").click()
        self.expect(self.outlook.locator("#notice")).to_contain_text("OK")  # posted, and the page reloaded
        article = self.outlook_event(subject)
        self.expect(article.locator(f"tr[data-email='{FUMI}'] .response")).to_contain_text("declined")
        self.shot("06a-outlook-declined", element=article)
        # The console's event follows the change feed (every 2 s), with no reload.
        card = self.page.locator("section.event").first
        self.expect(card.locator(f".attendees li[data-email='{FUMI}']")).to_contain_text(
            "辞退 (declined)", timeout=15_000
        )
        self.shot("06b-console-declined")
        self.page.goto(f"{self.base}/changes")
        row = self.page.locator("tr[data-type='event.responses_changed']", has_text=FUMI).first
        self.expect(row).to_contain_text("辞退 (declined)", timeout=15_000)
        self.shot("06c-changes")

    def step7_member_cancels_with_notice(self, subject: str):
        page = self.page
        page.goto(f"{self.base}/events")
        card = page.locator("section.event").first
        self.expect(card.locator("input[name=notify]")).to_be_checked()
        card.get_by_role("button", name="キャンセル (cancel)").click()
        self.toast("cancelled with notice")
        self.expect(page.locator("section.event").first).to_contain_text("キャンセル済み (cancelled)")
        self.shot("07a-cancelled")
        self.outlook.goto(f"{self.emulator}/_emulator/outlook")
        copy = self.outlook.locator(f"section.mailbox[data-upn='{FUMI}'] article.event").first
        self.expect(copy).to_contain_text("キャンセル (cancelled)")
        self.expect(copy.locator("h3")).to_contain_text("Canceled:")
        self.shot("07b-outlook-cancelled", element=copy)

    def step7b_member_holds_slots_and_confirms_one(self):
        """日程調整: free slots of Emi (the organizer), the admin (a member with a link of their own,
        picked by name) and Fumi (by e-mail) with a room; two held in Outlook; one confirmed."""
        page = self.page
        self.as_("u-member-1", "/scheduling")
        form = page.locator("#slot-form")
        self.expect(form).to_be_visible()
        subject = "最終面接: 山田 太郎 様"
        page.fill("#slot-form input[name=subject]", subject)
        page.check("#slot-form input[name=member][value=u-admin-1]")
        page.fill("#slot-form textarea[name=others]", FUMI)
        page.select_option("#slot-form select[name=duration]", "60")
        page.fill("#slot-form input[name=from]", self.day)
        page.check("#slot-form input[name=need_room]")
        page.fill("#slot-form input[name=min_capacity]", "6")
        self.expect(page.locator("#slot-form select[name=building] option", has_text="Tokyo HQ")).to_have_count(1)
        page.select_option("#slot-form select[name=building]", "Tokyo HQ")
        page.click("#find-slots")
        slots = page.locator("#slot-grid button.slot")
        self.expect(slots.first).to_be_visible()
        first, second = slots.nth(0), slots.nth(1)
        start = first.get_attribute("data-start")
        first.click()
        second.click()
        self.expect(page.locator("#picked-count")).to_contain_text("2")
        self.shot("07c-slots")
        page.click("#hold-slots")
        self.toast("slots held")
        card = page.locator("section.hold").first
        self.expect(card).to_have_attribute("data-status", "held")
        self.expect(card.locator("td.held-on").first).to_contain_text(EMI)
        self.expect(card.locator("td.held-on").first).to_contain_text(AIKO)
        self.shot("07d-held")
        self.outlook.goto(f"{self.emulator}/_emulator/outlook")
        held = self.outlook.locator(
            f"section.mailbox[data-upn='{EMI}'] article.event:not(.gone)[data-subject='[仮押さえ] {subject}']"
        )
        self.expect(held).to_have_count(2)
        self.expect(held.first).to_have_attribute("data-show-as", "tentative")
        self.expect(held.first).to_contain_text("no reminder")
        self.expect(held.first).to_contain_text("no attendees")
        self.shot("07e-outlook-held", element=held.first)
        card.locator("button.confirm").first.click()
        self.toast("interview confirmed")
        self.expect(page.locator("section.hold").first).to_have_attribute("data-status", "confirmed")
        self.shot("07f-confirmed")
        self.outlook.goto(f"{self.emulator}/_emulator/outlook")
        mailbox = self.outlook.locator(f"section.mailbox[data-upn='{EMI}']")
        self.expect(mailbox.locator(f"article.event:not(.gone)[data-subject='[仮押さえ] {subject}']")).to_have_count(0)
        interview = mailbox.locator(f"article.event:not(.gone)[data-subject='{subject}']")
        self.expect(interview).to_have_count(1)
        self.expect(interview.locator(".when")).to_contain_text(start[:16].replace("T", " "))
        self.expect(interview).to_contain_text(FUMI)
        self.shot("07g-outlook-confirmed", element=interview)

    def step8_admin_account_deleted(self):
        self.outlook.goto(f"{self.emulator}/_emulator/outlook")
        contoso = self.outlook.locator(f"section.tenant[data-tenant='{CONTOSO}']")
        contoso.locator("summary").click()
        contoso.locator(f"tr[data-user='{seed.AIKO_ID}'] button", has_text="delete user").click()
        self.expect(self.outlook.locator("#notice")).to_contain_text("OK")
        contoso = self.outlook.locator(f"section.tenant[data-tenant='{CONTOSO}']")
        contoso.locator("summary").click()
        self.expect(contoso.locator(f"tr[data-user='{seed.AIKO_ID}']")).to_contain_text("deleted")
        self.shot("08a-outlook-user-deleted", element=contoso)
        page = self.page
        self.as_("u-admin-1", f"/settings/integrations/outlook/{CONTOSO}")
        self.expect(page.locator("#room-count")).to_have_text("250")
        page.click("#sync-rooms")
        self.expect(page.locator("#tenant-status")).to_have_attribute("data-status", "renewal_required")
        self.expect(page.locator("#content")).to_contain_text("renewal_required")
        self.shot("08b-renewal-required")
        # The rest keeps working: the member's calendars and the room finder (the cache stays).
        self.as_("u-member-1", "/events")
        self.expect(page.locator("#event-form")).to_be_visible()
        self.expect(page.locator("select[name=building] option", has_text="Tokyo HQ")).to_have_count(1)
        page.fill("input[name=date]", self.day)
        page.click("#find-rooms")
        self.expect(page.locator("#found-rooms li.room").first).to_be_visible()

    def step9_another_admin_renews(self):
        page = self.page
        self.as_("u-admin-1", f"/settings/integrations/outlook/{CONTOSO}")
        page.click("#renew")
        page.wait_for_url(f"**/{CONTOSO}/oauth2/v2.0/authorize**")
        self.sign_in(BEN)
        page.wait_for_url(f"{self.base}/settings/integrations/outlook/{CONTOSO}*")
        self.toast("link renewed")
        self.expect(page.locator("#tenant-status")).to_have_attribute("data-status", "active")
        self.expect(page.locator("#content")).to_contain_text(BEN)
        self.shot("09a-renewed")
        self.as_("u-member-1", "/settings/accounts/outlook")
        row = page.locator(f"section[data-tenant-id='{CONTOSO}'] tbody tr", has_text=EMI)
        self.expect(row).to_contain_text("有効 (active)")
        self.shot("09b-user-links-intact")

    def step10_admin_unlinks(self):
        page = self.page
        self.as_("u-admin-1", f"/settings/integrations/outlook/{CONTOSO}")
        page.click("#unlink")
        page.wait_for_url(re.compile(r"/settings/integrations/outlook(\?.*)?$"))
        self.toast("unlinked")
        self.expect(page.locator("#content")).to_contain_text("no linked tenant yet")
        self.shot("10a-unlinked")
        self.as_("u-member-1", "/settings/accounts/outlook")
        self.expect(page.locator("#content")).to_contain_text("no linked tenant")
        self.shot("10b-member-links-gone")
