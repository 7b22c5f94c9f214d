"""Benchmark Twilio reconciliation: N inbound messages in the Twilio stand-in's log, a third of them already
stored by their webhooks; one run stores the rest, a second run must store nothing. Prints counts and time.

Creates a throw-away PostgreSQL database (one supplier number, 50 chefs), runs `ordering.reconcile` with the
real `TwilioHistory` client against `tests/helpers/twilio_standin.py` on loopback, processing only recorded
(not run), then drops the database. Never asserts on time.

    .venv/bin/python scripts/bench_reconcile.py --count 1500 [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the Twilio stand-in
sys.path.insert(0, str(ROOT / "scripts"))

TOKEN = "bench-token"
NUMBER = "+12125559999"  # bench_webhook's supplier number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import bench_webhook
    from sqlalchemy import func, select
    from tests.helpers.twilio_standin import TwilioStandIn

    from chat2order.channels.twilio_history import TwilioHistory
    from chat2order.config import Settings
    from chat2order.db import make_engine, session_factory
    from chat2order.jobs import RecordingQueue
    from chat2order.ordering import intake, reconcile
    from chat2order.runtime import Runtime
    from chat2order.tables import InboundMessage

    name, url, phones = bench_webhook._setup_database(chefs=50)
    figures: dict[str, object] = {"count": args.count}
    try:
        with TwilioStandIn(auth_token=TOKEN) as twilio:
            now = dt.datetime.now(dt.UTC)
            log = [twilio.receive_inbound(phones[i % len(phones)], NUMBER, f"{1 + i % 5} cases roma tomatoes",
                                          sent_at=now - dt.timedelta(seconds=args.count - i))
                   for i in range(args.count)]
            engine = make_engine(url)
            queue = RecordingQueue()
            settings = Settings(database_url=url, twilio_account_sid=twilio.account_sid, twilio_auth_token=TOKEN,
                                twilio_api_base=twilio.base_url)
            rt = Runtime(settings, engine=engine, sessionmaker=session_factory(engine), queue=queue)
            for message in log[::3]:  # these reached us through their webhooks
                intake.receive(rt, intake.Incoming(channel="sms", provider_id=message.sid, sender=message.from_,
                                                   recipient=message.to, body=message.body, raw=""))
            queue.enqueued.clear()
            for run in (1, 2):
                source = TwilioHistory.from_settings(settings, page_size=args.page_size)
                pages_before = len(twilio.list_requests)
                wall, cpu = time.perf_counter(), time.process_time()
                result = reconcile.reconcile(rt, source, numbers=[NUMBER])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                source.close()
                with rt.sessionmaker() as session:
                    rows = session.scalar(select(func.count()).select_from(InboundMessage))
                    distinct = session.scalar(select(func.count(func.distinct(InboundMessage.provider_id))))
                figures[f"run{run}"] = {
                    "seen": result.seen, "stored": result.stored, "already": result.already,
                    "failed": result.failed, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                    "pages": len(twilio.list_requests) - pages_before, "rows": rows, "distinct": distinct,
                    "process_jobs_queued": len(queue.ids("process_message")),
                }
            engine.dispose()
    finally:
        bench_webhook._drop_database(name)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>8}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
