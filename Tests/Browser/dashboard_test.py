"""Drives Relevo's dashboard in headless Chromium (Debian's chromium, chromium-driver and
python3-selenium): trigger a pipeline, watch its stages turn green, press play on a manual stage,
read the console on the job page, trigger with options (a variable typed into the prompt). Saves
a screenshot at each step.

usage: dashboard_test.py BASE_URL SCREENSHOT_DIR PIPELINE EXPECTED_CONSOLE_TEXT COMMIT_SUBJECT
Exits 0 when every step passed; prints what failed otherwise.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, shots, pipeline, console_text, subject = sys.argv[1:6]
os.makedirs(shots, exist_ok=True)

options = Options()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for(description, probe, timeout=60):
    """Calls probe until it returns something truthy (the page refreshes itself meanwhile)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as error:
            last = error
        time.sleep(0.2)
    shot("failed")
    raise AssertionError(f"timed out waiting for {description} (last error: {last})")


def shot(name):
    driver.save_screenshot(os.path.join(shots, f"{name}.png"))


def instance_selector(counter):
    return f'[data-pipeline="{pipeline}"] .instance[data-counter="{counter}"]'


def click(css):
    element = driver.find_element(By.CSS_SELECTOR, css)
    element.click()
    return True


try:
    driver.get(base + "/")
    wait_for("the pipeline on the dashboard", lambda: driver.find_elements(By.CSS_SELECTOR, f'[data-pipeline="{pipeline}"]'))
    assert "Relevo" in driver.title, driver.title
    shot("01-dashboard")

    wait_for("the trigger button to work", lambda: click(f'[data-pipeline="{pipeline}"] button.trigger'))
    build = instance_selector(1) + ' a.stage[data-stage="build"][data-state="passed"]'
    wait_for("stage build to turn green", lambda: driver.find_elements(By.CSS_SELECTOR, build))
    shot("02-build-passed")

    play = instance_selector(1) + ' button.play[data-stage="deploy"]'
    wait_for("the play button of deploy", lambda: driver.find_elements(By.CSS_SELECTOR, play))
    shot("03-awaiting-approval")
    wait_for("the play button to work", lambda: click(play))
    deployed = instance_selector(1) + ' a.stage[data-stage="deploy"][data-state="passed"]'
    wait_for("stage deploy to turn green", lambda: driver.find_elements(By.CSS_SELECTOR, deployed))
    shot("04-deployed")

    wait_for("the instance link", lambda: click(instance_selector(1) + " a.label"))
    wait_for("the instance page with its materials", lambda: subject in driver.page_source)
    shot("05-instance")

    wait_for("the job link", lambda: click('a[href*="/build/1/"]'))
    wait_for("the console text", lambda: console_text in driver.find_element(By.ID, "console").text)
    shot("06-job")

    driver.get(base + "/agents")
    wait_for("the agents page", lambda: driver.find_elements(By.CSS_SELECTOR, "tr[data-agent]"))
    shot("07-agents")
    driver.get(base + "/queues")
    wait_for("the queues page", lambda: driver.find_elements(By.CSS_SELECTOR, 'tr[data-queue="relevo.scheduler.events"]'))
    shot("08-queues")

    driver.get(base + "/")
    wait_for("the trigger-with-options button", lambda: click(f'[data-pipeline="{pipeline}"] button.trigger-options'))
    prompt = wait_for("the variables prompt", lambda: driver.switch_to.alert)
    prompt.send_keys("GREETING=bonjour")
    prompt.accept()
    wait_for("instance 2 on the dashboard", lambda: driver.find_elements(By.CSS_SELECTOR, instance_selector(2)))
    shot("09-triggered-with-options")
    print("dashboard test passed")
finally:
    driver.quit()
