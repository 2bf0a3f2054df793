"""JupyterLab as analysts see it: Debian's chromium, driven by Playwright, against the running lab.

Every scenario leaves a screenshot in tests/output/screenshots/ (also when it fails); the lab and a
report are kept as docs/screenshots/*.png too, the pictures the README shows. Every scenario also
proves the page fetched nothing from outside the lab: no tiles, fonts or scripts from the internet.
"""

import re
import shutil
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from stack_control import ROOT, TEST_OUTPUT, lab_writable_folder

CHROMIUM = "/usr/bin/chromium"
# headless in a container-less CI as root; no calls home (the machine's network is closed anyway)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
SCREENSHOTS = TEST_OUTPUT / "screenshots"
README_PICTURES = ROOT / "docs" / "screenshots"
KERNEL = "Python 3.13 (workbench)"

expect.set_options(timeout=60_000)


@dataclass
class Visit:
    page: Page
    requests: list[str] = field(default_factory=list)

    def offsite(self, lab_url: str) -> list[str]:
        return [url for url in self.requests if not url.startswith((lab_url, "data:", "blob:", "about:", "file:"))]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: tests/run installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visit(browser: Browser, stack, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    visit = Visit(page)
    page.on("request", lambda sent: visit.requests.append(sent.url))
    yield visit
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png")
    context.close()


def open_lab(visit: Visit, stack, path: str = "") -> Page:
    page = visit.page
    page.goto(f"{stack.lab_url()}/lab{path}?token={stack.secret('jupyter_token')}")
    expect(page.locator("#jp-main-statusbar")).to_be_visible()
    return page


def test_the_url_with_the_token_opens_the_lab_with_the_project_files(stack, visit):
    page = open_lab(visit, stack)
    listing = page.locator(".jp-DirListing-content")
    for folder in ("notebooks", "analysis_lib", "docker"):
        expect(listing).to_contain_text(folder)
    expect(page.locator(".jp-Launcher")).to_contain_text(KERNEL)
    page.locator(".jp-DirListing-item", has_text="notebooks").dblclick()
    expect(listing).to_contain_text("02_district_report.ipynb")
    README_PICTURES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=README_PICTURES / "lab.png")
    assert visit.offsite(stack.lab_url()) == []


def test_without_the_token_the_login_page_guards_the_lab(stack, visit):
    page = visit.page
    page.goto(f"{stack.lab_url()}/lab")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator(".jp-Launcher")).to_have_count(0)
    page.locator("#password_input").fill("not-the-token")
    page.locator("#login_submit").click()
    expect(page.locator("#password_input")).to_be_visible()  # still the login page
    page.locator("#password_input").fill(stack.secret("jupyter_token"))
    page.locator("#login_submit").click()
    expect(page.locator(".jp-Launcher")).to_be_visible()


@pytest.fixture
def notebook_copy(stack, sample_data):
    """02_district_report in a lab-writable folder: running it in the lab may autosave it, and the
    committed notebook must stay as it is."""
    with lab_writable_folder(stack, "browser") as folder:
        shutil.copy(ROOT / "notebooks" / "02_district_report.ipynb", folder)
        yield folder.relative_to(ROOT) / "02_district_report.ipynb"


def test_run_all_in_the_district_report_shows_the_figures_and_both_maps(stack, visit, notebook_copy):
    page = open_lab(visit, stack, f"/tree/{notebook_copy}")
    expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{KERNEL} | Idle")
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()

    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(notebook.locator(".jp-OutputArea-output img")).to_have_count(2)  # the choropleth and the trend chart
    meldingen = stack.exec(
        "lab", "psql", "-Atc",
        "SELECT count(*) FROM meldingen m JOIN buurten b ON b.code = m.buurt WHERE b.stadsdeel = 'A'"
        " AND (m.gemeld_op AT TIME ZONE 'Europe/Amsterdam')::date BETWEEN '2024-07-01' AND '2024-12-31'",
    ).stdout.strip()
    kpis = notebook.locator(".jp-OutputArea-output table").first
    expect(kpis).to_contain_text("this period")
    expect(kpis.locator("tr", has_text="meldingen").first.locator("td").first).to_have_text(meldingen)

    buurten = stack.exec("lab", "psql", "-Atc", "SELECT count(*) FROM buurten WHERE stadsdeel = 'A'").stdout.strip()
    leaflet = notebook.locator(".leaflet-container")
    leaflet.scroll_into_view_if_needed()
    expect(leaflet.locator("path.leaflet-interactive")).to_have_count(int(buurten))
    expect(leaflet.locator(".leaflet-tile")).to_have_count(0)  # a blank background: no map tiles
    leaflet.locator("path.leaflet-interactive").first.hover()
    expect(leaflet).to_contain_text("per 1000 inwoners")
    assert visit.offsite(stack.lab_url()) == []


def test_a_generated_report_reads_well_in_the_browser(stack, visit, sample_data):
    with lab_writable_folder(stack, "report") as folder:
        relative = folder.relative_to(ROOT)
        stack.exec("lab", "analysis-lib", "run", "notebooks/02_district_report.ipynb", "-p", "stadsdeel", "N", "--hide-code",
                   "--output-dir", str(relative))
        report = folder / "02_district_report" / "stadsdeel=N" / "report.html"
        page = visit.page
        page.set_viewport_size({"width": 1100, "height": 1500})
        page.goto(report.as_uri())
        expect(page.locator("h1")).to_contain_text("District report")
        expect(page.locator("img")).to_have_count(2)
        expect(page.locator("body")).not_to_contain_text("district.kpis")  # --hide-code
        README_PICTURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=README_PICTURES / "report.png")
    assert visit.offsite(stack.lab_url()) == []
