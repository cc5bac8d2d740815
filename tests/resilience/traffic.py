"""Bounded, threaded traffic through the balancer, as signed-in browsers make it.

Each thread is one user with a session cookie, mixing page reads with posts sent
through the home page's form (CSRF token plus an idempotency key, as the form
carries). A post counts as acknowledged when the app answers 302; a client that
gets an error may send the same form again, with the same key, as a browser's
resubmit does. Every request and every acknowledgement is recorded.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.harness.processes import require_loopback

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# Longer than gunicorn's worker timeout: only a real hang gets this far.
REQUEST_TIMEOUT = 30.0
READ_PATHS = ("/", "/explore", "/user/{username}", "/explore?page=2")
API_READ_PATHS = ("/api/posts", "/api/posts?page=2", "/api/users")


class RequestFailed(Exception):
    """The exchange ended in a transport error instead of an HTTP answer."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Exchange:
    """One request sent and what came back (``status`` 0: no answer)."""

    method: str
    path: str
    status: int
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 400


class Browser:
    """A cookie-keeping HTTP client for one user, loopback only."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        require_loopback(parts.hostname or "")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.cookies: dict[str, str] = {}
        # Set for an API client: it sends a bearer token instead of cookies.
        self.bearer: str | None = None

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        payload: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request (a form or a JSON payload); RequestFailed on no answer."""
        sent = {"Accept": "application/json" if self.bearer else "text/html"}
        sent.update(headers or {})
        if self.bearer:
            sent["Authorization"] = f"Bearer {self.bearer}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if payload is not None:
            body = json.dumps(payload)
            sent["Content-Type"] = "application/json"
        # A connection per request, so that an nginx reload, which closes
        # idle kept-alive connections, never races a request on one.
        sent["Connection"] = "close"
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=REQUEST_TIMEOUT
        )
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as error:
            raise RequestFailed(f"{error.__class__.__name__}: {error}") from error
        finally:
            connection.close()
        self.keep_cookies(response.headers.get_all("Set-Cookie") or [])
        return Answer(response.status, dict(response.headers.items()), text)

    def keep_cookies(self, lines: list[str]) -> None:
        for line in lines:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def csrf_token(self, path: str) -> str:
        """The CSRF token of the form on ``path``."""
        page = self.request("GET", path)
        found = CSRF_FIELD.search(page.body)
        if page.status != 200 or not found:
            raise RequestFailed(f"GET {path}: {page.status}, no CSRF token")
        return found.group(1)

    def login(self, username: str, password: str) -> None:
        """Sign in through the login form."""
        token = self.csrf_token("/auth/login")
        form = {"username": username, "password": password, "csrf_token": token}
        answer = self.request("POST", "/auth/login", form)
        if answer.status != 302:
            raise RequestFailed(f"login as {username}: {answer.status}")

    def api_sign_in(self, username: str, password: str) -> None:
        """Trade the password for a bearer token, as an API client does."""
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        answer = self.request(
            "POST", "/api/tokens", headers={"Authorization": f"Basic {basic}"}
        )
        if answer.status != 200:
            raise RequestFailed(f"token for {username}: {answer.status}")
        self.bearer = json.loads(answer.body)["token"]


@dataclass
class Post:
    username: str
    key: str
    body: str


@dataclass
class Tally:
    """Everything the traffic saw, shared by its threads."""

    exchanges: list[Exchange] = field(default_factory=list)
    acknowledged: dict[str, Post] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)

    def acknowledge(self, post: Post) -> None:
        with self.lock:
            self.acknowledged[post.key] = post

    @property
    def requests(self) -> int:
        return len(self.exchanges)

    def failures(self) -> list[Exchange]:
        """Exchanges that got no answer or an error status."""
        return [exchange for exchange in self.exchanges if exchange.failed]

    def statuses(self) -> Counter[int]:
        return Counter(exchange.status for exchange in self.exchanges)

    def since(self, start: int) -> list[Exchange]:
        """Exchanges recorded after the first ``start``."""
        with self.lock:
            return self.exchanges[start:]


@dataclass
class TrafficPlan:
    """How much traffic: threads, share of writes, and hard bounds."""

    users: list[str]
    password: str
    write_share: float = 0.3
    pause: float = 0.02
    max_requests_per_user: int = 5000
    max_seconds: float = 240.0
    # Send a failed post again (same key) until it is acknowledged.
    retry_writes: bool = True
    # Every other user posts through the JSON API (token + Idempotency-Key).
    api_clients: bool = True


class Traffic:
    """Threads that drive the plan until stopped or a bound is reached."""

    def __init__(self, base_url: str, plan: TrafficPlan) -> None:
        self.base_url = base_url
        self.plan = plan
        self.tally = Tally()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.browsers: dict[str, Browser] = {}
        self.errors: list[str] = []

    def sign_in(self) -> None:
        """Log every user in before the traffic (and the faults) start."""
        for number, username in enumerate(self.plan.users):
            browser = Browser(self.base_url)
            if number % 2 and self.plan.api_clients:
                browser.api_sign_in(username, self.plan.password)
            else:
                browser.login(username, self.plan.password)
            self.browsers[username] = browser

    def start(self) -> None:
        if not self.browsers:
            self.sign_in()
        self.deadline = time.monotonic() + self.plan.max_seconds
        for username, browser in self.browsers.items():
            thread = threading.Thread(
                target=self._run, args=(username, browser), name=f"user-{username}"
            )
            thread.start()
            self.threads.append(thread)

    def stop(self) -> Tally:
        """Stop the threads (each finishes its current post) and return the tally."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT * 3)
        return self.tally

    def running(self) -> bool:
        return not self.stopping.is_set() and time.monotonic() < self.deadline

    def _run(self, username: str, browser: Browser) -> None:
        rng = random.Random(username)
        reads = API_READ_PATHS if browser.bearer else READ_PATHS
        try:
            token = "" if browser.bearer else browser.csrf_token("/")
            sent = 0
            while self.running() and sent < self.plan.max_requests_per_user:
                if rng.random() < self.plan.write_share:
                    sent += self._post(username, browser, token)
                else:
                    path = rng.choice(reads).format(username=username)
                    self._send(browser, "GET", path)
                    sent += 1
                time.sleep(self.plan.pause)
        except Exception as error:  # surfaced by the test, not lost in a thread
            self.errors.append(f"{username}: {error!r}")

    def _send(
        self, browser: Browser, method: str, path: str, **sent: Any
    ) -> Answer | None:
        try:
            answer = browser.request(method, path, **sent)
        except RequestFailed as error:
            self.tally.record(Exchange(method, path, 0, str(error)))
            return None
        self.tally.record(Exchange(method, path, answer.status))
        return answer

    def _post(self, username: str, browser: Browser, csrf_token: str) -> int:
        """Post once; resend the same post while it fails. Returns requests sent."""
        key = secrets.token_urlsafe(16)
        post = Post(username, key, f"resilience {key}")
        if browser.bearer:
            path, accepted = "/api/posts", {200, 201}
            sent: dict[str, Any] = {
                "payload": {"body": post.body},
                "headers": {"Idempotency-Key": key},
            }
        else:
            path, accepted = "/", {302}
            form = {"post": post.body, "idempotency_key": key, "csrf_token": csrf_token}
            sent = {"form": form}
        requests = 0
        # A post already sent is followed through even while stopping, within
        # the hard deadline, so a retry never leaves it unknown.
        while time.monotonic() < self.deadline + REQUEST_TIMEOUT:
            answer = self._send(browser, "POST", path, **sent)
            requests += 1
            if answer is not None and answer.status in accepted:
                self.tally.acknowledge(post)
                if not browser.bearer:
                    # Follow the redirect as a browser does (it shows the flash).
                    self._send(browser, "GET", "/index")
                    requests += 1
                return requests
            if not self.plan.retry_writes:
                return requests
            time.sleep(0.25)
        return requests


@contextmanager
def running_traffic(base_url: str, plan: TrafficPlan) -> Iterator[Traffic]:
    """Traffic running for the duration of the block, stopped even on failure."""
    traffic = Traffic(base_url, plan)
    traffic.sign_in()
    traffic.start()
    try:
        yield traffic
    finally:
        traffic.stop()
