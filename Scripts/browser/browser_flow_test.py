#!/usr/bin/env python3
"""The handoff in a real browser: headless Chromium (Selenium + chromedriver) drives a
running `baton demo` through the eight steps people take when they first meet Baton,
then the sample app behind nginx (Scripts/demo-app, http://app.localhost:8090): signed
in by Baton's forward auth, and signed out by the login host's logout.

Prints one line per step, saves a PNG per step into --screenshots, and ends with
'N passed, N failed'. Waits are explicit and bounded; nothing sleeps blindly.
"""
import argparse
import base64
import json
import os
import sys
import time
import traceback
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

LOGIN = "http://login.localhost:8080"
DASHBOARD = "http://dashboard.localhost:8081"
REPORTS = "http://reports.localhost:8082"
APP = "http://app.localhost:8090"
WAIT = 15


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def make_driver(chromedriver, profile_dir):
    options = webdriver.ChromeOptions()
    options.add_argument("--headless=new")
    options.add_argument("--no-sandbox")
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--window-size=1000,780")
    options.add_argument("--no-first-run")
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument("--disable-features=Translate,OptimizationHints,MediaRouter")
    # The CDP network events let the test see the callback URL the browser visited.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


def wait_for_url(driver, prefix):
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.current_url.startswith(prefix))
    except TimeoutException:
        raise Failure(f"expected to be at {prefix}, but the browser is at {driver.current_url}")


def wait_for_text(driver, text):
    # A page that navigates while it is read replaces its body under the reader
    # ("Node ... does not belong to the document"): read again rather than fail.
    def present(d):
        try:
            return text in d.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return False

    try:
        WebDriverWait(driver, WAIT).until(present)
    except TimeoutException:
        raise Failure(f"the page at {driver.current_url} never showed {text!r}")


def visited_callback_urls(driver):
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if "/sso/callback?token=" in url:
                urls.append(url)
    return urls


def token_exp(callback_url):
    """The `exp` of the handoff token in a callback URL."""
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(callback_url).query)["token"][0]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


def cookie(driver, name):
    for item in driver.get_cookies():
        if item["name"] == name:
            return item
    return None


def sign_in(driver, password="wonderland"):
    driver.find_element(By.ID, "username").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--profiles", required=True)
    args = parser.parse_args()
    run_started = time.monotonic()
    os.makedirs(args.screenshots, exist_ok=True)

    results = []
    state = {}
    drivers = []

    def step(number, title, body, driver_key="main"):
        started = time.monotonic()
        try:
            body()
            results.append(True)
            print(f"PASS step {number}: {title} ({time.monotonic() - started:.1f} s)", flush=True)
        except Exception as error:  # a failed step is reported and the run goes on
            results.append(False)
            detail = str(error) if isinstance(error, Failure) else traceback.format_exc()
            print(f"FAIL step {number}: {title}: {detail}", flush=True)
        finally:
            driver = state.get(driver_key)
            if driver is not None:
                try:
                    driver.save_screenshot(os.path.join(args.screenshots, f"step{number}.png"))
                except Exception:
                    pass

    browser = make_driver(args.chromedriver, os.path.join(args.profiles, "main"))
    drivers.append(browser)
    state["main"] = browser
    # The second profile starts now, not in step 5: starting Chromium must not eat the
    # life of the token it replays.
    other = make_driver(args.chromedriver, os.path.join(args.profiles, "other"))
    drivers.append(other)

    def fresh_callback():
        """Signs the main browser in on the dashboard again (single sign-on, no password)
        and returns the callback URL it went through: a token minted just now, so the
        reload and replay checks run well inside its life (exp + 2 s of leeway) however
        long the steps before them took."""
        browser.get(DASHBOARD + "/sso/start?return_to=/")
        wait_for_url(browser, DASHBOARD + "/")
        wait_for_text(browser, "Alice Liddell")
        callbacks = visited_callback_urls(browser)
        expect(len(callbacks) == 1, f"expected one callback navigation, saw {len(callbacks)}")
        state["callback"] = callbacks[0]
        state["session"] = cookie(browser, "__Host-baton_session")
        expect(state["session"] is not None, "the fresh sign-in left no dashboard session cookie")

    def step1():
        browser.get(DASHBOARD + "/")
        wait_for_url(browser, LOGIN + "/login")
        expect(browser.find_element(By.ID, "password") is not None, "no password field on the sign-in page")
        browser.save_screenshot(os.path.join(args.screenshots, "sign-in.png"))

    def step2():
        sign_in(browser)
        wait_for_url(browser, DASHBOARD + "/")
        wait_for_text(browser, "Alice Liddell")
        expect("token" not in browser.current_url, f"the address bar holds a token: {browser.current_url}")
        expect(browser.execute_script("return document.cookie") == "", "document.cookie is not empty on the dashboard")
        nav = browser.execute_script("return performance.getEntriesByType('navigation').map(e => e.name)")
        expect(nav == [DASHBOARD + "/"], f"the navigation entry is {nav}, not the dashboard after the callback")
        resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        expect(not any("token=" in name for name in resources), "a resource entry holds a token")
        callbacks = visited_callback_urls(browser)
        expect(len(callbacks) == 1, f"expected one callback navigation, saw {len(callbacks)}")
        state["callback"] = callbacks[0]
        state["session"] = cookie(browser, "__Host-baton_session")
        expect(state["session"] is not None and state["session"]["httpOnly"], "no HttpOnly dashboard session cookie")
        expect("Token minted" in browser.page_source, "the handoff timeline is missing")
        browser.save_screenshot(os.path.join(args.screenshots, "dashboard.png"))
        browser.get(LOGIN + "/")
        wait_for_text(browser, "Signed in as Alice Liddell")
        expect(browser.execute_script("return document.cookie") == "", "document.cookie is not empty on the login host")

    def step3():
        browser.get(REPORTS + "/")
        wait_for_url(browser, REPORTS + "/")
        wait_for_text(browser, "Alice Liddell")
        expect(len(visited_callback_urls(browser)) == 1, "reports did not sign in through exactly one handoff")

    def step4():
        fresh_callback()
        # The callback URL was a redirect, so history skips it; going back to it is
        # opening it again in the same browser, which is what a reload does.
        browser.back()
        browser.get(state["callback"])
        wait_for_url(browser, DASHBOARD + "/")
        wait_for_text(browser, "Alice Liddell")
        expect("already used" not in browser.page_source, "the reload was refused")
        now = cookie(browser, "__Host-baton_session")
        expect(now is not None and now["value"] == state["session"]["value"], "the reload created a new session")

    def step5():
        state["other"] = other
        # The replay must reach the dashboard while the token still lives, or the answer
        # is token_expired and says nothing about replay. A slow machine gets a new token
        # and another try (at most three), never a longer fixed window.
        for attempt in range(3):
            other.get(state["callback"])
            try:
                WebDriverWait(other, WAIT).until(lambda d: d.find_elements(By.ID, "baton-error"))
            except TimeoutException:
                raise Failure(f"the replay at {other.current_url} showed no error page")
            code = other.find_element(By.ID, "baton-error").text
            if "token_expired" in code and time.time() > token_exp(state["callback"]) + 2 and attempt < 2:
                print(f"  the replay came after the token's life (attempt {attempt + 1}): minting a fresh one", flush=True)
                fresh_callback()
                continue
            break
        wait_for_text(other, "This sign-in link was already used")
        expect("token_replayed" in code, f"the page names {code!r}, not token_replayed")
        expect(cookie(other, "__Host-baton_session") is None, "the second profile got a dashboard session")
        other.save_screenshot(os.path.join(args.screenshots, "already-used.png"))
        other.get(DASHBOARD + "/")
        wait_for_url(other, LOGIN + "/login")

    def step6():
        browser.get(DASHBOARD + "/")
        wait_for_text(browser, "Alice Liddell")
        browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button[type=submit]").click()
        wait_for_text(browser, "You are signed out of Dashboard")
        expect(cookie(browser, "__Host-baton_session") is None, "the dashboard session cookie survived logout")
        browser.get(LOGIN + "/")
        wait_for_text(browser, "Signed in as Alice Liddell")

    def step7():
        # Sign in on the dashboard again (single sign-on), then sign out on the login host:
        # back-channel logout ends the existing dashboard session at once.
        browser.get(DASHBOARD + "/")
        wait_for_text(browser, "Alice Liddell")
        browser.get(LOGIN + "/")
        browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button[type=submit]").click()
        wait_for_url(browser, LOGIN + "/login")
        deadline = time.monotonic() + 2
        while True:
            browser.get(DASHBOARD + "/")
            if browser.current_url.startswith(LOGIN + "/login"):
                break
            expect(time.monotonic() < deadline, "the dashboard session outlived the login host's logout by 2 s")
            time.sleep(0.1)
        expect(cookie(browser, "__Host-baton_session") is None, "the dashboard left its dead session cookie in the browser")

    def step8():
        browser.get(DASHBOARD + "/")
        wait_for_url(browser, LOGIN + "/login")
        sign_in(browser, password="not-the-password")
        wait_for_text(browser, "Wrong username or password.")
        text = browser.find_element(By.TAG_NAME, "body").text
        expect(text.count("Wrong username or password.") == 1, "the message is not shown exactly once")
        expect("Error:" not in text and ".swift" not in text and "Traceback" not in text, "the page shows a stack trace")
        expect(browser.current_url.startswith(LOGIN + "/login"), "a wrong password left the sign-in page")

    def step9():
        # Step 7 signed alice out everywhere: the app sends her to sign in, and she
        # comes back to the app's page, which shows what nginx passed on from /sso/auth.
        browser.get(APP + "/")
        try:
            WebDriverWait(browser, WAIT).until(
                lambda d: d.current_url.startswith(LOGIN + "/login") or d.current_url.startswith(APP + "/"))
        except TimeoutException:
            raise Failure(f"opening the app left the browser at {browser.current_url}")
        if browser.current_url.startswith(LOGIN + "/login"):
            browser.save_screenshot(os.path.join(args.screenshots, "app-sign-in.png"))
            sign_in(browser)
        wait_for_url(browser, APP + "/")
        wait_for_text(browser, "Alice Liddell")
        shown = {key: browser.find_element(By.ID, key).text
                 for key in ("baton-user", "baton-name", "baton-email", "baton-groups", "baton-subject", "request-path")}
        want = {"baton-user": "alice", "baton-name": "Alice Liddell", "baton-email": "alice@example.com",
                "baton-groups": "staff", "request-path": "/"}
        expect(all(shown[k] == v for k, v in want.items()) and shown["baton-subject"],
               f"the app shows {shown}, not alice's identity")
        expect("token" not in browser.current_url, f"the address bar holds a token: {browser.current_url}")
        expect(browser.execute_script("return document.cookie") == "", "document.cookie is not empty on the app")
        expect(cookie(browser, "__Host-baton_session") is not None, "the app's origin holds no session cookie")
        browser.save_screenshot(os.path.join(args.screenshots, "app.png"))
        browser.get(APP + "/staff/")
        wait_for_text(browser, "Staff only")

    def step10():
        browser.get(APP + "/")
        wait_for_text(browser, "Alice Liddell")
        browser.find_element(By.ID, "sign-out-everywhere").click()
        wait_for_url(browser, LOGIN + "/")
        wait_for_text(browser, "Signed in as Alice Liddell")
        browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button[type=submit]").click()
        wait_for_url(browser, LOGIN + "/login")
        started = time.monotonic()
        while True:
            browser.get(APP + "/")
            if browser.current_url.startswith(LOGIN + "/login"):
                break
            expect(time.monotonic() - started < 2, "the app's session outlived the login host's logout by 2 s")
            time.sleep(0.1)
        print(f"  the app was signed out {time.monotonic() - started:.2f} s after the logout", flush=True)
        browser.save_screenshot(os.path.join(args.screenshots, "app-signed-out.png"))

    try:
        step(1, "the dashboard sends a signed-out person to the login host's sign-in page", step1)
        step(2, "signing in as alice lands on the dashboard: no token in the address bar, HttpOnly cookies, redirected callback", step2)
        step(3, "reports signs alice in without a password (single sign-on)", step3)
        step(4, "opening the callback again in the same browser continues, with no new session", step4)
        step(5, "a fresh profile opening the callback URL sees 'already used' (token_replayed) and gets no session", step5, "other")
        step(6, "signing out on the dashboard asks to sign in again there; the login session is untouched", step6)
        step(7, "signing out on the login host ends the dashboard session at once (back-channel logout)", step7)
        step(8, "a wrong password shows one clear message and no stack trace", step8)
        step(9, "the app behind nginx sends a signed-out person to sign in, then shows alice's identity from /sso/auth", step9)
        step(10, "signing out everywhere on the login host signs the app out: reloading it asks to sign in", step10)
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass

    passed = results.count(True)
    failed = results.count(False)
    print(f"screenshots: {args.screenshots}")
    print(f"browser stage: {time.monotonic() - run_started:.1f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
