"""A local stand-in for Twilio's REST API (Messages resource), real HTTP on loopback.

Speaks enough of `/2010-04-01/Accounts/{AccountSid}/Messages.json` for the real `twilio` client: create
(form POST, HTTP basic auth), list (To/From and `DateSent>`/`DateSent<` filters, newest first, paged with
`next_page_uri` carrying `Page` and `PageToken` like Twilio's) and fetch. `receive_inbound` puts an inbound
message (a chef's SMS to one of our numbers) in the log, as Twilio keeps the ones whose webhook failed.
Like Twilio's documented behaviour, the `DateSent` filters compare whole days (UTC), so a client must
filter by the exact time itself.
It behaves like Twilio where the project depends on it: error 21610 for opted-out recipients, 21617 for a
body over 1,600 characters, 20003 for bad credentials. Faults can be injected: the next N creates (or list pages) fail
with a status, or a create is stored and its response delayed (so the client times out or is killed while
Twilio already holds the message). `send_status_callbacks` posts signed callbacks like Twilio does.

    with TwilioStandIn() as twilio:
        settings = settings.with_(twilio_api_base=twilio.base_url, twilio_account_sid=twilio.account_sid, ...)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/2010-04-01/Accounts/"


@dataclass
class StoredMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    date_created: dt.datetime
    status: str = "queued"
    user_agent: str = ""
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    direction: str = "outbound-api"
    date_sent: dt.datetime | None = None
    num_media: int = 0

    def resource(self) -> dict[str, Any]:
        stamp = format_datetime(self.date_created, usegmt=True)
        uri = f"{API}{self.account_sid}/Messages/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": self.status,
            "direction": self.direction,
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": format_datetime(self.date_sent, usegmt=True) if self.date_sent else None,
            "num_segments": str(max(1, -(-len(self.body) // 153))),
            "num_media": str(self.num_media),
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        }


@dataclass
class _Fault:
    status: int
    code: int | None
    remaining: int


@dataclass
class TwilioStandIn:
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    opted_out: set[str] = field(default_factory=set)
    # Seconds to hold the HTTP response of a create AFTER the message is stored (chosen per message).
    response_delay: Callable[[StoredMessage], float] = lambda _m: 0.0
    # Approved content templates by Content SID ("HX..."), with {{1}}-style placeholders Twilio fills in.
    templates: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[StoredMessage] = []
        self._inbound: list[StoredMessage] = []
        self._faults: list[_Fault] = []
        self._list_faults: list[_Fault] = []
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="twilio-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- what the tests look at ------------------------------------------------------------------
    @property
    def messages(self) -> list[StoredMessage]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, number: str) -> list[StoredMessage]:
        return [m for m in self.messages if m.to == number]

    def fail_next_creates(self, count: int, status: int = 500, code: int | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault(status, code, count))

    def fail_next_lists(self, count: int, status: int = 500, code: int | None = None) -> None:
        """The next `count` GETs of the Messages list (any page) answer `status` with a Twilio error body."""
        with self._lock:
            self._list_faults.append(_Fault(status, code, count))

    def receive_inbound(
        self, from_: str, to: str, body: str, *, sent_at: dt.datetime | None = None, num_media: int = 0
    ) -> StoredMessage:
        """An inbound message in the log, as if a chef had texted `to` (its webhook is not sent here)."""
        sent = (sent_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        message = StoredMessage(
            sid="SM" + secrets.token_hex(16), account_sid=self.account_sid, to=to, from_=from_, body=body,
            status_callback=None, date_created=sent, status="received", direction="inbound", date_sent=sent,
            num_media=num_media,
        )
        with self._lock:
            self._inbound.append(message)
        return message

    @property
    def inbound(self) -> list[StoredMessage]:
        with self._lock:
            return list(self._inbound)

    @property
    def list_requests(self) -> list[str]:
        """Paths (with query) of every GET of the Messages list, in order."""
        return [path for method, path in self.requests if method == "GET" and "/Messages.json" in path]

    def send_status_callbacks(
        self, sid: str, statuses: Iterable[str], *, error_code: int | None = None, timeout: float = 5.0
    ) -> list[int]:
        """POST signed status callbacks for message `sid` to its StatusCallback URL; returns HTTP statuses."""
        import requests
        from twilio.request_validator import RequestValidator

        message = next(m for m in self.messages if m.sid == sid)
        assert message.status_callback, "the message was created without a StatusCallback"
        validator = RequestValidator(self.auth_token)
        results = []
        for status in statuses:
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "AccountSid": self.account_sid,
                "To": message.to,
                "From": message.from_,
                "ApiVersion": "2010-04-01",
            }
            if error_code is not None and status in ("failed", "undelivered"):
                params["ErrorCode"] = str(error_code)
            signature = validator.compute_signature(message.status_callback, params)
            response = requests.post(
                message.status_callback, data=params, headers={"X-Twilio-Signature": signature}, timeout=timeout
            )
            results.append(response.status_code)
        return results

    # -- request handling ------------------------------------------------------------------------
    def _take_fault(self, faults: list[_Fault] | None = None) -> _Fault | None:
        with self._lock:
            for fault in self._faults if faults is None else faults:
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def _create(
        self, account_sid: str, form: dict[str, str], user_agent: str = ""
    ) -> tuple[int, dict[str, Any], StoredMessage | None]:
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        content_sid, variables = form.get("ContentSid"), form.get("ContentVariables")
        if variables and not content_sid:
            return 400, _error(21654, "A ContentSid must be specified if ContentVariables are provided."), None
        if content_sid:
            if content_sid not in self.templates:
                return 400, _error(20404, f"The requested resource {content_sid} was not found", status=404), None
            values = json.loads(variables or "{}")
            body = re.sub(r"\{\{(\w+)\}\}", lambda m: str(values.get(m[1], m[0])), self.templates[content_sid])
        elif not body:
            return 400, _error(21619, "A text message body or media urls must be specified."), None
        if not to:
            return 400, _error(21604, "A 'To' phone number is required."), None
        if not from_:
            return 400, _error(21603, "A 'From' phone number is required."), None
        if len(body) > 1600:
            return 400, _error(21617, "The concatenated message body exceeds the 1600 character limit."), None
        if to.removeprefix("whatsapp:") in self.opted_out:
            return 400, _error(21610, "Attempt to send to unsubscribed recipient"), None
        fault = self._take_fault()
        if fault is not None:
            return fault.status, _error(fault.code or 20500, "Injected fault", status=fault.status), None
        message = StoredMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=form.get("StatusCallback"),
            content_sid=content_sid,
            content_variables=json.loads(variables) if variables else None,
            date_created=dt.datetime.now(dt.UTC).replace(microsecond=0),
            user_agent=user_agent,
        )
        with self._lock:
            self._messages.append(message)
        return 201, message.resource(), message

    def _list(self, account_sid: str, query: dict[str, str]) -> dict[str, Any]:
        page_size = max(1, min(1000, int(query.get("PageSize", "50"))))
        page = max(0, int(query.get("Page", "0")))
        after, before = _day(query.get("DateSent>")), _day(query.get("DateSent<"))
        with self._lock:
            everything = sorted(self._messages + self._inbound, key=lambda m: m.date_sent or m.date_created)
        wanted = [
            m
            for m in reversed(everything)
            if m.account_sid == account_sid
            and (not query.get("To") or m.to == query["To"])
            and (not query.get("From") or m.from_ == query["From"])
            and (after is None or (m.date_sent or m.date_created).date() >= after)
            and (before is None or (m.date_sent or m.date_created).date() <= before)
        ]
        chunk = wanted[page * page_size : (page + 1) * page_size]
        base = f"{API}{account_sid}/Messages.json"
        keep = {k: v for k, v in query.items() if k in ("To", "From", "DateSent>", "DateSent<", "PageSize")}
        has_next = (page + 1) * page_size < len(wanted)
        token = {"PageToken": f"PA{chunk[-1].sid}"} if has_next and chunk else {}
        return {
            "messages": [m.resource() for m in chunk],
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + max(0, len(chunk) - 1),
            "uri": f"{base}?{urlencode({**keep, 'Page': page})}",
            "first_page_uri": f"{base}?{urlencode({**keep, 'Page': 0})}",
            "previous_page_uri": None,
            "next_page_uri": f"{base}?{urlencode({**keep, 'Page': page + 1, **token})}" if has_next else None,
        }


def _day(value: str | None) -> dt.date | None:
    """The day of a `DateSent` filter value (`YYYY-MM-DD` or the client's `YYYY-MM-DDTHH:MM:SSZ`)."""
    return dt.date.fromisoformat(value[:10]) if value else None


def _error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioStandIn
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without this, Nagle + delayed ACK add 40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _authorised(self, account_sid: str) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.owner.account_sid == account_sid and password == self.owner.auth_token

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str] | None:
        path = urlsplit(self.path).path
        if not path.startswith(API):
            return None
        rest = path[len(API):]
        account_sid, _, resource = rest.partition("/")
        return account_sid, resource

    def do_POST(self) -> None:
        self.owner.requests.append(("POST", self.path))
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode()
        route = self._route()
        if route is None or route[1] != "Messages.json":
            return self._reply(404, _error(20404, "The requested resource was not found", 404))
        account_sid = route[0]
        if not self._authorised(account_sid):
            return self._reply(401, _error(20003, "Authentication Error - invalid username", 401))
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        status, payload, message = self.owner._create(account_sid, form, self.headers.get("User-Agent", ""))
        if message is not None:
            delay = self.owner.response_delay(message)
            if delay:
                time.sleep(delay)
        try:
            self._reply(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (timed out or was killed) after we stored the message, like Twilio

    def do_GET(self) -> None:
        self.owner.requests.append(("GET", self.path))
        route = self._route()
        if route is None:
            return self._reply(404, _error(20404, "The requested resource was not found", 404))
        account_sid, resource = route
        if not self._authorised(account_sid):
            return self._reply(401, _error(20003, "Authentication Error - invalid username", 401))
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if resource == "Messages.json":
            fault = self.owner._take_fault(self.owner._list_faults)
            if fault is not None:
                return self._reply(fault.status, _error(fault.code or 20500, "Injected fault", status=fault.status))
            return self._reply(200, self.owner._list(account_sid, query))
        if resource.startswith("Messages/") and resource.endswith(".json"):
            sid = resource[len("Messages/"):-len(".json")]
            for message in self.owner.messages:
                if message.sid == sid and message.account_sid == account_sid:
                    return self._reply(200, message.resource())
        return self._reply(404, _error(20404, "The requested resource was not found", 404))
