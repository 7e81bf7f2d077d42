"""Fixtures of the dashboard's tests: one live stack (tests/openapi/stack.py: nats-server,
`smith orchestrator` with a token, one worker of role execute) for the module, and a headless
chromium driven through Debian's chromedriver.

SMITH_UI_ARTIFACTS names the directory the screenshots go to (meson sets it to
meson-logs/ui/ in the build dir; default: smith-ui-artifacts/ in the system's temp dir)."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "openapi"))
from stack import Stack  # noqa: E402

CHROMIUM = os.environ.get("SMITH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SMITH_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def artifacts():
    default = Path(tempfile.gettempdir()) / "smith-ui-artifacts"
    path = Path(os.environ.get("SMITH_UI_ARTIFACTS", default)).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def stack():
    with Stack() as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).is_file():
            pytest.fail(f"no {path}: install Debian's {package} (scripts/install-deps)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver named: selenium would otherwise look for one to download.
    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a screenshot of what the page showed: <test>-failed.png."""
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser")
    if report.when == "call" and report.failed and driver is not None:
        folder = item.funcargs.get("artifacts")
        if folder is not None:
            driver.save_screenshot(str(folder / f"{item.name}-failed.png"))
