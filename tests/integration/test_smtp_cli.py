"""`chat2order smtp` as the Procfile runs it: a real process that stores what it is sent, and stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chat2order.tables import InboundMessage
from tests.factories import SupplierFactory
from tests.helpers.smtp_server import eml, expected_text, send

pytestmark = pytest.mark.postgres


def test_smtp_command_stores_a_mail_and_exits_cleanly_on_sigterm(
    pg_url: str, committed_pg: sessionmaker[Session], tmp_path: Path
) -> None:
    SupplierFactory(slug="greenleaf")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=pg_url, MAIL_DOMAIN="chat2order.local", VAR_DIR=str(tmp_path))
    entry_point = "from chat2order.cli import main; main()"  # what the `chat2order` console script runs
    command = [sys.executable, "-c", entry_point, "smtp", "--listen", "127.0.0.1:0", "--auth", "off"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()  # printed once listening
        match = re.search(r"on 127\.0\.0\.1:(\d+) ", ready)
        assert match, ready + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        send(int(match.group(1)), eml("d0092"), mail_from="nick@example.org",
             rcpt_tos=["orders+greenleaf@chat2order.local"])
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    assert exit_code == 0
    with committed_pg() as session:
        [message] = session.scalars(select(InboundMessage)).all()
    assert message.body == expected_text("d0092")
