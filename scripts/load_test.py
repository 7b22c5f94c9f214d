"""Load test of the whole SMS pipeline on loopback (issue 6 "Load"): signed webhooks in, orders out, counted.

What runs, all on 127.0.0.1 and all stopped by this script:
- a scratch PostgreSQL database (created, migrated, demo data loaded, plus one extra chef per order so every
  sender is known; dropped at the end) and a private `redis-server` on a free port (stopped at the end; so
  that other test runs restarting the shared Redis cannot drop this run's jobs; `--shared-redis` uses an
  empty database of 127.0.0.1:6379 instead and deletes its `rq:*` keys at the end);
- the web app under gunicorn (`-w 2 -k gthread --threads 8 "chat2order.web:create_app()"`);
- `--workers` `chat2order worker` processes (warm RQ SimpleWorkers);
- in this process: the Twilio REST stand-in (`tests/helpers/twilio_standin.py`, receives every SMS we send)
  and an SMTP sink (`tests/helpers/smtp_sink.py`, receives every order sheet email).

The load: `--count` signed SMS webhooks at `--concurrency` keep-alive connections (asyncio, raw HTTP/1.1 so
the client stays cheap next to the server on 2 cores). About half are orders, each from its own chef, one in
`--redeliver-every` of them a redelivery of an earlier MessageSid (Twilio retries); the other half are the
chefs' signed "yes" replies, sent as soon as the chef's confirmation was handed to Twilio (the stand-in), so
parsing, confirmations and dispatch run while webhooks keep arriving. `--auto-confirm` makes the supplier
confirm by itself instead (all webhooks are orders then).

Two ways to send, which measure different things (do not compare their latencies as if they were one):
- closed loop (default): every connection sends its next webhook as soon as the previous one was answered,
  so the run measures the saturation throughput, and the latency is mostly queueing at that saturation
  (Little's law: `--concurrency` / throughput);
- open loop (`--rate R`): webhooks arrive on a fixed schedule, R per second, sent over up to `--concurrency`
  connections; each latency is measured from the webhook's *scheduled* send time, so a server (or client)
  that falls behind shows up as latency instead of silently lowering the rate (no coordinated omission).
  A chef's "yes" takes the next free slot of the schedule once the confirmation reached the stand-in.

Then it waits (bounded by `--timeout`) for the pipeline to settle and checks the counts at the receivers and
in the database: every distinct MessageSid stored exactly once, one order per order message, every order
confirmed and dispatched, every outbox row sent once (stand-in messages grouped by outbox id, sink mails
grouped by Message-ID). It prints the figures (`--json`: one JSON object) and never asserts on time.

    .venv/bin/python scripts/load_test.py --count 500 --json
    .venv/bin/python scripts/load_test.py                      # 10,000 webhooks at 50 connections, closed loop
    .venv/bin/python scripts/load_test.py --rate 150           # the same webhooks arriving at 150/s
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the Twilio stand-in and the SMTP sink
sys.path.insert(0, str(ROOT / "scripts"))
from bench_webhook import cpu_seconds

ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST = "redis://127.0.0.1:6379"
TOKEN = "load-test-token"
MAIL_DOMAIN = "c2o.test"
MAX_COUNT = 50_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# --- scratch database and Redis -----------------------------------------------------------------------------


def create_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    from chat2order.db import normalise_url

    admin_url = normalise_url(ADMIN_URL)
    name = f"c2o_load_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    from chat2order.db import normalise_url

    admin = create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def chef_phone(i: int) -> str:
    # Possible US numbers (212, 213, ... area codes), 10,000 per area code, distinct from the demo's +1555555....
    return f"+1{212 + i // 10_000}555{i % 10_000:04d}"


@dataclass
class Demo:
    supplier_phone: str
    supplier_id: int
    chefs: list[str]
    items: list[tuple[str, str]]  # (unit, name) to write orders with


def load_data(url: str, chefs: int, auto_confirm: bool) -> Demo:
    """Migrate, load the demo supplier/restaurant/catalog, and add one known chef per order message."""
    from sqlalchemy import select

    from chat2order.db import make_engine, session_factory
    from chat2order.migrate import upgrade
    from chat2order.onboarding.demo import default_demo_dir, load_demo
    from chat2order.tables import Contact, Supplier

    engine = make_engine(url)
    upgrade(url, engine=engine)
    maker = session_factory(engine)
    demo = load_demo(maker, mail_domain=MAIL_DOMAIN)
    phones = [chef_phone(i) for i in range(chefs)]
    with maker.begin() as session:
        supplier = session.scalars(select(Supplier).where(Supplier.id == demo.supplier_id)).one()
        supplier.auto_confirm = auto_confirm
        # Every day a delivery day, so no order waits on the calendar whatever day the test runs.
        supplier.delivery_weekdays = [1, 2, 3, 4, 5, 6, 7]
        session.add_all(
            Contact(restaurant_id=demo.restaurant_id, name=f"load chef {i}", phone=p, locale="en-US")
            for i, p in enumerate(phones)
        )
    engine.dispose()
    with (default_demo_dir() / "catalog.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Packs a chef orders by the case / sack / flat, with the pack size where the name needs it ("50#" vs "10#"),
    # so every line names one SKU: the load is about throughput and counts, not about asking the chef.
    # The egg cases are left out: "1 case eggs large white 15dz", their exact catalog name, is read as
    # ambiguous between three SKUs (reported to the parser's owner), and would wait for the chef's choice.
    items = [(r["unit"], r["name"].lower()) for r in rows
             if r["unit"] in ("case", "bag", "flat") and not r["sku"].startswith("EGG")]
    assert demo.inbound_phone is not None
    return Demo(demo.inbound_phone, demo.supplier_id, phones, items)


def pick_redis_db() -> str:
    """An empty Redis database (15 down to 1) so the run neither sees nor deletes anybody else's jobs."""
    import redis

    for db in range(15, 0, -1):
        conn = redis.Redis.from_url(f"{REDIS_HOST}/{db}")
        try:
            if conn.dbsize() == 0:
                return f"{REDIS_HOST}/{db}"
        finally:
            conn.close()
    raise SystemExit("no empty Redis database (1..15) to run in")


def clean_redis(url: str) -> None:
    import redis

    conn = redis.Redis.from_url(url)
    try:
        for key in conn.scan_iter("rq:*", count=1000):
            conn.delete(key)
    finally:
        conn.close()


# --- processes ------------------------------------------------------------------------------------------------


@dataclass
class Processes:
    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.procs.append(subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        self.names.append(name)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per kind of process (web, worker, redis), children included, plus this process."""
        totals: collections.Counter[str] = collections.Counter()
        for name, proc in zip(self.names, self.procs):
            totals[name.rstrip("0123456789")] += cpu_seconds(proc.pid)
        totals["load_generator"] = time.process_time()  # the client, the Twilio stand-in and the SMTP sink
        totals["postgres_all"] = postgres_cpu()
        return dict(totals)

    def stop(self) -> None:
        # Twice SIGTERM: gunicorn graceful then quick, RQ warm then cold shutdown. Only our own children.
        for _ in range(2):
            for proc in self.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def postgres_cpu() -> float:
    """CPU seconds of every `postgres` process on the machine (this run's backends and whatever else runs)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1].startswith("postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_private_redis(procs: Processes) -> str:
    """A Redis server of our own on a free loopback port (no persistence), so that other people's tests
    restarting the shared Redis cannot drop this run's jobs; stopped with the other processes."""
    port = free_port()
    procs.start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                          "--appendonly", "no", "--dir", str(procs.log_dir)])
    import redis

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port).ping():
                return f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("the private redis-server did not start")


def redis_run_id(url: str) -> str:
    import redis

    conn = redis.Redis.from_url(url)
    try:
        return str(conn.info("server")["run_id"])
    finally:
        conn.close()



def wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the web app did not answer {base}/readyz within {timeout:.0f} s")


def wait_workers(redis_url: str, n: int, timeout: float = 120) -> float:
    """Wait until `n` workers listen (a worker registers in Redis only after its warm-up) and return the wait.

    Workers in production are long-lived, so the first seconds of a cold start are not what a chef sees:
    without this wait the first webhooks queue behind the workers' catalog indexes being built.
    """
    from redis import Redis
    from rq import Worker

    started = time.monotonic()
    connection = Redis.from_url(redis_url)
    try:
        while time.monotonic() - started < timeout:
            if Worker.count(connection=connection) >= n:
                return time.monotonic() - started
            time.sleep(0.2)
    finally:
        connection.close()
    raise SystemExit(f"{n} workers did not register within {timeout:.0f} s (see their logs)")


# --- the load generator -------------------------------------------------------------------------------------------


@dataclass
class Post:
    kind: str  # order, redelivery, reply
    sid: str
    raw: bytes
    scheduled: float | None = None  # open loop: perf_counter of its slot; latency counts from here


@dataclass
class Result:
    kind: str
    status: int
    seconds: float
    done: float = 0.0  # perf_counter when the answer was read


class Client:
    """`concurrency` keep-alive HTTP/1.1 connections draining one queue of pre-signed webhook posts."""

    def __init__(self, port: int, path: str, concurrency: int) -> None:
        self.port, self.path, self.concurrency = port, path, concurrency
        self.results: list[Result] = []
        self.started = 0.0
        self.errors: Counter[str] = Counter()

    def request(self, url: str, form: list[tuple[str, str]], kind: str, sid: str) -> Post:
        from chat2order.channels.twilio import sign

        body = urlencode(form).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {sign(url, form, TOKEN)}\r\n\r\n"
        ).encode()
        return Post(kind, sid, head + body)

    async def worker(self, queue: asyncio.Queue[Post | None]) -> None:
        reader = writer = None
        while True:
            post = await queue.get()
            if post is None:
                break
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    started = time.perf_counter()
                    writer.write(post.raw)
                    status, close = await self._response(reader)  # type: ignore[arg-type]
                    now = time.perf_counter()
                    since = post.scheduled if post.scheduled is not None else started
                    self.results.append(Result(post.kind, status, now - since, now))
                    if close:
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.IncompleteReadError) as exc:
                    # A keep-alive connection the server closed between requests: reconnect and resend
                    # (a resend is a Twilio redelivery, which the server must absorb anyway).
                    self.errors[type(exc).__name__] += 1
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == 2:
                        self.results.append(Result(post.kind, 0, float("nan"), time.perf_counter()))
        if writer is not None:
            writer.close()

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers.get("connection", "").lower() == "close"


def order_text(rng: random.Random, items: list[tuple[str, str]]) -> str:
    lines = []
    for unit, name in rng.sample(items, rng.randint(1, 4)):
        qty = rng.randint(1, 6)
        lines.append(f"{qty} {unit}{'s' if qty > 1 and unit != 'case' else ''} {name}" if unit != "case"
                     else f"{qty} {'cases' if qty > 1 else 'case'} {name}")
    return "\n".join(lines)


def sid_for(kind: str, n: int) -> str:
    return "SM" + hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()[:32]


def order_posts(client: Client, webhook_url: str, demo: Demo, n_orders: int, redeliveries: int,
                rng: random.Random) -> tuple[list[Post], set[str]]:
    """One signed order webhook per chef, plus `redeliveries` repeats of earlier ones at random places."""
    posts: list[Post] = []
    for i in range(n_orders):
        sid = sid_for("order", i)
        form = [("MessageSid", sid), ("SmsSid", sid), ("SmsMessageSid", sid), ("AccountSid", "AC" + "0" * 32),
                ("From", demo.chefs[i]), ("To", demo.supplier_phone), ("Body", order_text(rng, demo.items)),
                ("NumMedia", "0"), ("NumSegments", "1")]
        posts.append(client.request(webhook_url, form, "order", sid))
    sids = {post.sid for post in posts}
    for _ in range(redeliveries):  # Twilio retrying a webhook it thinks failed: same sid, same body
        original = posts[rng.randrange(n_orders)]
        posts.insert(rng.randrange(len(posts) + 1), Post("redelivery", original.sid, original.raw))
    return posts, sids


class ReplyFeeder:
    """Polls the database for orders whose confirmation was handed to Twilio and queues the chef's "yes"."""

    def __init__(self, url: str, client: Client, webhook_url: str, supplier_phone: str) -> None:
        from chat2order.db import make_engine

        self.url = url
        self.engine = make_engine(url, pool_size=1, max_overflow=0)
        self.client, self.webhook_url, self.supplier_phone = client, webhook_url, supplier_phone
        self.answered: set[int] = set()

    def due(self) -> list[Post]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT o.id, c.phone FROM orders o JOIN contacts c ON c.id = o.contact_id "
                "JOIN outbound_messages ob ON ob.order_id = o.id AND ob.purpose = 'confirmation' "
                "WHERE o.status = 'awaiting_chef' AND ob.status IN ('sent', 'delivered')"
            )).all()
        posts = []
        for order_id, phone in rows:
            if order_id in self.answered:
                continue
            self.answered.add(order_id)
            sid = sid_for("yes", order_id)
            form = [("MessageSid", sid), ("SmsSid", sid), ("SmsMessageSid", sid), ("AccountSid", "AC" + "0" * 32),
                    ("From", phone), ("To", self.supplier_phone), ("Body", "yes"), ("NumMedia", "0")]
            posts.append(self.client.request(self.webhook_url, form, "reply", sid))
        return posts


async def run_load(client: Client, orders: list[Post], feeder: ReplyFeeder | None, expect_replies: int,
                   reply_deadline: float, rate: float = 0.0) -> float:
    """Send `orders` (and the chefs' replies as they become due); closed loop, or open loop at `rate`/s."""
    queue: asyncio.Queue[Post | None] = asyncio.Queue()
    pending_orders: collections.deque[Post] = collections.deque(orders)
    pending_replies: collections.deque[Post] = collections.deque()
    stop = asyncio.Event()

    def submit(posts: list[Post]) -> None:
        if rate > 0:
            pending_replies.extend(posts)
        else:
            for post in posts:
                queue.put_nowait(post)

    if rate <= 0:
        submit(list(pending_orders))
        pending_orders.clear()
    started = time.perf_counter()
    workers = [asyncio.create_task(client.worker(queue)) for _ in range(client.concurrency)]
    scheduler = (asyncio.create_task(open_loop(queue, pending_orders, pending_replies, rate, stop, started))
                 if rate > 0 else None)
    if feeder is not None:
        loop = asyncio.get_running_loop()
        quiet = 0  # polls in a row with nothing left that could still ask for a reply
        while len(feeder.answered) < expect_replies and time.monotonic() < reply_deadline and quiet < 3:
            due = await loop.run_in_executor(None, feeder.due)
            submit(due)
            if due or not queue.empty() or pending_orders or pending_replies:
                quiet = 0
            else:
                state = await loop.run_in_executor(None, settled, feeder.url)
                quiet = quiet + 1 if not state["unprocessed"] and not state["outbox_pending"] else 0
            await asyncio.sleep(0.25)
    stop.set()
    if scheduler is not None:
        await scheduler
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    client.started = started
    return time.perf_counter() - started


async def open_loop(queue: asyncio.Queue[Post | None], orders: collections.deque[Post],
                    replies: collections.deque[Post], rate: float, stop: asyncio.Event, t0: float) -> None:
    """Hand one webhook to the connections every 1/rate s, on a schedule fixed in advance; a chef's reply
    takes the next slot before the next order. A slot with nothing to send stays empty."""
    slot = 0
    while orders or replies or not stop.is_set():
        at = t0 + slot / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        slot += 1
        source = replies if replies else orders
        if source:
            post = source.popleft()
            post.scheduled = at
            queue.put_nowait(post)


# --- settling and counting -------------------------------------------------------------------------------------


def settled(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    from chat2order.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return {
                "unprocessed": conn.execute(text(
                    "SELECT count(*) FROM inbound_messages WHERE status IN ('received', 'failed')")).scalar_one(),
                "outbox_pending": conn.execute(text(
                    "SELECT count(*) FROM outbound_messages WHERE status IN ('pending', 'sending')")).scalar_one(),
                "awaiting_chef": conn.execute(text(
                    "SELECT count(*) FROM orders WHERE status = 'awaiting_chef'")).scalar_one(),
                "confirmed_not_dispatched": conn.execute(text(
                    "SELECT count(*) FROM orders WHERE status = 'confirmed'")).scalar_one(),
            }
    finally:
        engine.dispose()


def wait_settled(url: str, deadline: float, expect_done: bool, patience: float = 15.0) -> dict[str, int]:
    """Poll until nothing is left to process or send (and, with `expect_done`, every order dispatched), or
    until nothing has moved for `patience` seconds with only orders waiting for a chef's answer left."""
    state = settled(url)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        idle = not state["unprocessed"] and not state["outbox_pending"]
        if idle and (not expect_done or not (state["awaiting_chef"] or state["confirmed_not_dispatched"])):
            break
        if idle and not state["confirmed_not_dispatched"] and time.monotonic() - still_since > patience:
            break
        time.sleep(1.0)
        previous, state = state, settled(url)
        if state != previous:
            still_since = time.monotonic()
    return state


def count_check(url: str, order_sids: set[str], reply_sids: set[str], twilio: Any, sink: Any) -> dict[str, Any]:
    """The exactly-once figures, from the database and from what the receivers got."""
    from sqlalchemy import create_engine, text

    from chat2order.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        stored_rows = conn.execute(text(
            "SELECT provider_id, count(*) FROM inbound_messages WHERE channel = 'sms' GROUP BY provider_id")).all()
        orders = conn.execute(text(
            "SELECT o.id, o.status, o.source_message_id, m.provider_id FROM orders o "
            "JOIN inbound_messages m ON m.id = o.source_message_id")).all()
        inbound_status = Counter(dict(conn.execute(text(
            "SELECT status, count(*) FROM inbound_messages GROUP BY status")).all()))
        outbox = conn.execute(text(
            "SELECT id, channel, purpose, status, provider_id FROM outbound_messages")).all()
            # Webhook stored -> confirmation row written (parse + draft) -> handed to Twilio (deliver job).
        timings = conn.execute(text(
            "SELECT extract(epoch FROM ob.sent_at - m.received_at) * 1000, "
            "extract(epoch FROM ob.created_at - m.received_at) * 1000, "
            "extract(epoch FROM ob.sent_at - ob.created_at) * 1000 FROM outbound_messages ob "
            "JOIN orders o ON o.id = ob.order_id JOIN inbound_messages m ON m.id = o.source_message_id "
            "WHERE ob.purpose = 'confirmation' AND ob.sent_at IS NOT NULL")).all()
        # Why an order is not dispatched (a few, for the person reading the figures).
        stuck = conn.execute(text(
            "SELECT o.id, o.status, (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id AND l.needs_review)"
            " AS flagged, (SELECT ob.body FROM outbound_messages ob WHERE ob.order_id = o.id"
            " AND ob.purpose != 'order_sheet' ORDER BY ob.id DESC LIMIT 1) AS last_told"
            " FROM orders o WHERE o.status != 'dispatched' ORDER BY o.id LIMIT 5")).all()
    engine.dispose()

    stored_per_sid = dict(stored_rows)
    sent_sids = order_sids | reply_sids
    orders_per_message = Counter(row.source_message_id for row in orders)
    # Every SMS the stand-in accepted carries our StatusCallback ?ob=<outbox id>: count sends per row.
    sms_per_row = Counter(
        int(parse_qs(urlsplit(m.status_callback or "").query).get("ob", ["0"])[0]) for m in twilio.messages
    )
    mails_per_id = Counter(mail.message_id for mail in sink.received)
    sent_rows = [r for r in outbox if r.status in ("sent", "delivered")]
    sms_rows_sent = {r.id for r in sent_rows if r.channel == "sms"}
    email_rows_sent = [r for r in sent_rows if r.channel == "email"]
    missing = {
        "messages_not_stored": len(sent_sids - set(stored_per_sid)),
        "order_messages_without_order": len(order_sids - {row.provider_id for row in orders}),
        "orders_not_dispatched": sum(1 for row in orders if row.status != "dispatched"),
        "sms_rows_not_received": len(sms_rows_sent - set(sms_per_row)),
        "email_rows_not_received": sum(1 for r in email_rows_sent if r.provider_id not in mails_per_id),
        "outbox_rows_not_sent": sum(1 for r in outbox if r.status not in ("sent", "delivered")),
    }
    doubled = {
        "messages_stored_twice": sum(n - 1 for n in stored_per_sid.values() if n > 1),
        "orders_per_message_over_one": sum(n - 1 for n in orders_per_message.values() if n > 1),
        "sms_sends_per_row_over_one": sum(n - 1 for n in sms_per_row.values() if n > 1),
        "emails_per_message_id_over_one": sum(n - 1 for n in mails_per_id.values() if n > 1),
    }
    statuses = Counter(row.status for row in orders)
    return {
        "stored": sum(stored_per_sid.values()),
        "distinct_sids_posted": len(sent_sids),
        "orders": len(orders),
        "confirmed": statuses["confirmed"] + statuses["dispatched"],
        "dispatched": statuses["dispatched"],
        "order_statuses": dict(statuses),
        "inbound_statuses": dict(inbound_status),
        "sms_received": len(twilio.messages),
        "sheet_emails_received": len(sink.received),
        "lost": sum(missing.values()),
        "duplicated": sum(doubled.values()),
        "lost_detail": missing,
        "duplicated_detail": doubled,
        "not_dispatched_sample": [
            {"order": r.id, "status": r.status, "flagged_lines": r.flagged, "last_told": (r.last_told or "")[:300]}
            for r in stuck
        ],
        "confirm_p50_ms": round(percentile([float(t[0]) for t in timings], 0.50), 1),
        "confirm_p95_ms": round(percentile([float(t[0]) for t in timings], 0.95), 1),
        "confirm_written_p50_ms": round(percentile([float(t[1]) for t in timings], 0.50), 1),
        "confirm_written_p95_ms": round(percentile([float(t[1]) for t in timings], 0.95), 1),
        "confirm_send_wait_p50_ms": round(percentile([float(t[2]) for t in timings], 0.50), 1),
        "confirm_send_wait_p95_ms": round(percentile([float(t[2]) for t in timings], 0.95), 1),
        "confirmations_timed": len(timings),
    }


# --- main -------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="webhooks to send (orders + replies)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: webhooks per second on a fixed schedule (default 0: closed loop)")
    parser.add_argument("--workers", type=int, default=2, help="`chat2order worker` processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--redeliver-every", type=int, default=20, help="one order post in N is a redelivery")
    parser.add_argument("--auto-confirm", action="store_true", help="the supplier confirms; no 'yes' replies")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before the run gives up waiting")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs folder")
    parser.add_argument("--redis-url", default="", help="use this Redis (default: a private redis-server)")
    parser.add_argument("--shared-redis", action="store_true", help="use an empty db of 127.0.0.1:6379")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    count = max(2, min(args.count, MAX_COUNT))
    deadline = time.monotonic() + args.timeout
    rng = random.Random(args.seed)

    from tests.helpers.smtp_sink import SmtpSink
    from tests.helpers.twilio_standin import TwilioStandIn

    n_order_posts = count if args.auto_confirm else (count + 1) // 2
    redeliveries = n_order_posts // args.redeliver_every if args.redeliver_every > 0 else 0
    n_orders = n_order_posts - redeliveries
    log_dir = Path(tempfile.mkdtemp(prefix="c2o-load-"))
    db_name, url = create_database()
    procs = Processes(dict(os.environ), log_dir)
    redis_url = args.redis_url or ("" if args.shared_redis else start_private_redis(procs))
    redis_url = redis_url or pick_redis_db()
    run_id = redis_run_id(redis_url)
    try:
        demo = load_data(url, n_orders, args.auto_confirm)
        with TwilioStandIn(auth_token=TOKEN) as twilio, SmtpSink(tls=False) as sink:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                **os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "TWILIO_AUTH_TOKEN": TOKEN,
                "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_API_BASE": twilio.base_url,
                "PUBLIC_BASE_URL": base, "SMTP_RELAY_URL": sink.relay_url, "MAIL_DOMAIN": MAIL_DOMAIN,
                "OUTBOX_DIR": str(log_dir / "outbox"), "VAR_DIR": str(log_dir), "LOG_FORMAT": "text",
                "RQ_LOG_LEVEL": os.environ.get("RQ_LOG_LEVEL", "WARNING"), "RATE_LIMIT": "1000000/minute",
            }
            procs.env = env
            procs.start("web", [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.web_workers), "-k", "gthread",
                                "--threads", "8", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                                # Time inside the worker per request (µs): tells app time from queueing.
                                "--access-logfile", str(log_dir / "access.log"), "--access-logformat",
                                "%(D)s %(s)s %(U)s", "chat2order.web:create_app()"])
            for i in range(args.workers):
                procs.start(f"worker{i}", [str(ROOT / ".venv/bin/chat2order"), "worker"])
            wait_healthy(base)
            workers_ready_s = wait_workers(redis_url, args.workers)
            cpu_before = procs.cpu()

            client = Client(port, "/twilio/sms", args.concurrency)
            webhook_url = base + "/twilio/sms"
            posts, order_sids = order_posts(client, webhook_url, demo, n_orders, redeliveries, rng)
            feeder = None if args.auto_confirm else ReplyFeeder(url, client, webhook_url, demo.supplier_phone)
            expect_replies = min(n_orders, count - n_order_posts)
            elapsed = asyncio.run(run_load(client, posts, feeder, expect_replies, deadline, args.rate))
            state = wait_settled(url, deadline, expect_done=True)
            cpu_after = procs.cpu()
            figures = count_check(url, order_sids, {sid_for("yes", o) for o in (feeder.answered if feeder else ())},
                                  twilio, sink)
        redis_restarted = redis_run_id(redis_url) != run_id
    finally:
        if args.redis_url or args.shared_redis:
            clean_redis(redis_url)
        procs.stop()
        drop_database(db_name)

    ok = [r.seconds * 1000 for r in client.results if r.status == 200]
    server_ms = [int(line.split()[0]) / 1000 for line in (log_dir / "access.log").read_text().splitlines()
                 if line.split()[2:3] == ["/twilio/sms"]] if (log_dir / "access.log").exists() else []
    burst = [r for r in client.results if r.kind != "reply"]
    burst_ok = [r.seconds * 1000 for r in burst if r.status == 200]
    burst_seconds = max((r.done for r in burst), default=client.started) - client.started
    result = {
        "webhooks": len(client.results),
        # closed: as fast as the connections go (saturation); open: arrivals at `rate`/s, latency from schedule.
        "mode": "open" if args.rate > 0 else "closed",
        "rate": args.rate or None,
        "concurrency": args.concurrency,
        "order_posts": sum(1 for r in client.results if r.kind == "order"),
        "redeliveries": sum(1 for r in client.results if r.kind == "redelivery"),
        "reply_posts": sum(1 for r in client.results if r.kind == "reply"),
        "http_200": len(ok),
        "http_other": dict(Counter(r.status for r in client.results if r.status != 200)),
        "client_reconnects": dict(client.errors),
        "p50_ms": round(percentile(ok, 0.50), 1),
        "p99_ms": round(percentile(ok, 0.99), 1),
        "max_ms": round(max(ok), 1) if ok else None,
        "per_s": round(len(client.results) / elapsed, 1),
        # The order burst alone (before most replies): the webhook rate the server sustained at full load.
        "server_p50_ms": round(percentile(server_ms, 0.50), 1),
        "server_p99_ms": round(percentile(server_ms, 0.99), 1),
        "orders_p50_ms": round(percentile(burst_ok, 0.50), 1),
        "orders_p99_ms": round(percentile(burst_ok, 0.99), 1),
        "orders_per_s": round(len(burst) / burst_seconds, 1) if burst_seconds > 0 else None,
        "load_seconds": round(elapsed, 1),
        "settled": state,
        "redis_restarted_during_run": redis_restarted,
        "workers": args.workers,
        "workers_ready_s": round(workers_ready_s, 1),  # their warm-up, before the first webhook
        # Where the machine's CPU went from the first webhook until settled (postgres_all: every backend).
        "cpu_s": {k: round(cpu_after[k] - cpu_before.get(k, 0.0), 1) for k in cpu_after},
        "web_workers": args.web_workers,
        **figures,
        "logs": str(log_dir) if args.keep_logs else None,
    }
    if not args.keep_logs:
        import shutil

        shutil.rmtree(log_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
