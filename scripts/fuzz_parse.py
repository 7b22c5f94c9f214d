"""Coverage-guided fuzzing (atheris / libFuzzer) of text-to-order and email-to-order (issue 6).

Two targets, chosen by the first byte of each input:
- text: Unicode text -> `parsing.parse` with a small synthetic catalog index, a history, a locale and a channel;
- email: raw bytes -> `channels.mime.precheck` / `mime.parse` (what the SMTP handler does) -> `parsing.cleanup.clean`
  -> `parsing.parse` with channel "email".
Only the project's own errors (`chat2order.errors.Chat2OrderError`) may escape. Any other exception is a
finding: its input is saved under `--artifacts` and fuzzing goes on (one file per distinct exception site).
Each input is timed; the slowest is reported (and saved). Only chat2order's own modules are instrumented.

    .venv/bin/python scripts/fuzz_parse.py --seconds 300 --json
    .venv/bin/python scripts/fuzz_parse.py --replay var/fuzz/finding-*.bin     # re-run saved inputs

Prints one JSON object with --json: executions, seconds, execs_per_s, findings (site -> count, file), and
max_input_ms with the slowest input's file. Never runs in the test suite (see tests/unit/test_fuzz_smoke.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ["en-US", "pt-PT", "fr-FR", "it-IT", "es-ES", "en-GB"]
CHANNELS = ["sms", "whatsapp", "email", "chat", "voicemail"]
SEED_TEXTS = [
    "2 cs tomato plum\n1 bunch parsley\nfor tomorrow thx",
    "Bonjour, 3 kg carottes et 2 plateaux d'oeufs pour vendredi. Merci",
    "Olá! 5 kg cenoura, 2 molhos salsa. Obrigado",
    "same as last week but no limes\n> On Mon, Chef wrote:\n> 4 cs limes",
    "10# onions red, half case lemons, 1/2 cs plum toms\nSent from my iPhone",
    "ciao, 2 kg mozzarella fior di latte e 1 cassa di limoni per domani",
]


class Harness:
    """The two pipelines under test, with their per-input bookkeeping."""

    def __init__(self, artifacts: Path) -> None:
        from chat2order.channels import mime
        from chat2order.errors import Chat2OrderError
        from chat2order.parsing import ParseContext, parse
        from chat2order.parsing.cleanup import clean
        from chat2order.parsing.index import CatalogIndex
        from chat2order.parsing.model import CatalogEntry, PastLine, PastOrder

        self.mime, self.clean, self.parse, self.allowed = mime, clean, parse, Chat2OrderError
        self.ParseContext = ParseContext
        catalog = [
            CatalogEntry("TP-CS", "TOMATO PLUM 25#", "25 lb case", "case", Decimal("31.50")),
            CatalogEntry("TP-LB", "TOMATO PLUM", "per lb", "lb", Decimal("1.40")),
            CatalogEntry("ONR-25", "ONION RED 25#", "25 lb sack", "bag"),
            CatalogEntry("LIM-110", "LIME 110CT", "110 ct case", "case"),
            CatalogEntry("LEM-140", "LEMON 140CT", "140 ct case", "case"),
            CatalogEntry("PRS-BN", "PARSLEY FLAT LEAF", "bunch", "bunch"),
            CatalogEntry("CEN-KG", "Cenoura", "kg", "kg"),
            CatalogEntry("SAL-MO", "Salsa", "molho", "bunch"),
            CatalogEntry("OEUF-30", "Oeufs plein air x30", "plateau 30", "each"),
            CatalogEntry("CAR-KG", "Carottes", "kg", "kg"),
            CatalogEntry("MOZ-1", "Mozzarella fior di latte 1kg", "1 kg", "kg"),
            CatalogEntry("LIMO-CX", "Limoni", "cassa 5 kg", "case"),
        ]
        self.index = CatalogIndex.build(catalog, language="en")
        self.received = dt.datetime(2026, 3, 5, 21, 40, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        self.history = (PastOrder(self.received - dt.timedelta(days=7),
                                  (PastLine("TP-CS", Decimal(2), None), PastLine("LIM-110", Decimal(4), None))),)
        self.artifacts = artifacts
        self.executions = 0
        self.findings: dict[str, dict[str, Any]] = {}
        self.max_seconds = 0.0
        self.max_file: str | None = None
        self.per_target = {"text": 0, "email": 0}
        # Load the lazy language assets now, so the first input's time is not the pipeline's start-up.
        self.run_text(SEED_TEXTS[0], "en-US", "sms")
        self.run_email(b"From: a@b.example\r\nSubject: order\r\n\r\n" + SEED_TEXTS[1].encode(), "fr-FR")
        self.run_email(b"From: a@b.example\r\nContent-Type: text/html\r\n\r\n<p>2 cs limes</p>", "en-US")

    def context(self, locale: str, channel: str) -> Any:
        return self.ParseContext(index=self.index, history=self.history, locale=locale,
                                 received_at=self.received, channel=channel)

    def run_text(self, text: str, locale: str, channel: str) -> None:
        self.parse(text, self.context(locale, channel))

    def run_email(self, raw: bytes, locale: str) -> None:
        if self.mime.precheck(raw):
            return  # refused before parsing (554): a clean rejection
        content = self.mime.parse(raw, envelope_sender="chef@example.org")
        self.clean(content.text, channel="email", locale=locale)
        self.parse(content.text, self.context(locale, "email"))

    def one(self, data: bytes) -> None:
        """One fuzz input: byte 0 picks the target, byte 1 the locale and channel, the rest is the message."""
        if len(data) < 2:
            return
        target = "email" if data[0] & 1 else "text"
        locale = LOCALES[data[1] % len(LOCALES)]
        channel = CHANNELS[(data[1] // len(LOCALES)) % len(CHANNELS)]
        payload = data[2:]
        self.executions += 1
        self.per_target[target] += 1
        started = time.perf_counter()
        try:
            if target == "text":
                self.run_text(payload.decode("utf-8", errors="replace"), locale, channel)
            else:
                self.run_email(payload, locale)
        except self.allowed:
            pass
        except Exception as exc:  # noqa: BLE001 - every other exception is what we are looking for
            self._finding(data, exc)
        elapsed = time.perf_counter() - started
        if elapsed > self.max_seconds:
            self.max_seconds = elapsed
            self.max_file = str(self._save("slowest", data, overwrite=True))

    def _finding(self, data: bytes, exc: Exception) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        site = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} ({frame.name})"
        entry = self.findings.setdefault(site, {"count": 0, "file": None, "message": str(exc)[:200]})
        entry["count"] += 1
        if entry["file"] is None:
            entry["file"] = str(self._save(f"finding-{hashlib.sha1(site.encode()).hexdigest()[:10]}", data))

    def _save(self, stem: str, data: bytes, overwrite: bool = False) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{stem}.bin"
        if overwrite or not path.exists():
            path.write_bytes(data)
        return path

    def report(self, seconds: float) -> dict[str, Any]:
        return {
            "executions": self.executions,
            "per_target": self.per_target,
            "seconds": round(seconds, 1),
            "execs_per_s": round(self.executions / seconds, 1) if seconds else None,
            "findings": self.findings,
            "max_input_ms": round(self.max_seconds * 1000, 1),
            "slowest_input": self.max_file,
        }


def seed_corpus(directory: Path) -> None:
    """Order texts and the wire-format .eml fixtures, each prefixed with its target and locale bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(SEED_TEXTS):
        (directory / f"text-{n}").write_bytes(bytes([0, n]) + text.encode())
    for n, path in enumerate(sorted((ROOT / "fixtures" / "eml").glob("*.eml"))):
        (directory / f"eml-{n}").write_bytes(bytes([1, n]) + path.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="stop after this long (bounded run)")
    parser.add_argument("--max-len", type=int, default=8192, help="largest input libFuzzer generates")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "var" / "fuzz")
    parser.add_argument("--replay", nargs="*", type=Path, help="run these saved inputs once and report")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.replay:
        harness = Harness(Path(tempfile.mkdtemp(prefix="fuzz-replay-")))
        started = time.perf_counter()
        for path in args.replay:
            harness.one(path.read_bytes())
        print(json.dumps(harness.report(time.perf_counter() - started), indent=None if args.json else 2))
        return 0

    import atheris

    with atheris.instrument_imports(include=["chat2order"]):
        import chat2order.channels.mime
        import chat2order.parsing.cleanup
        import chat2order.parsing.parser  # noqa: F401
    harness = Harness(args.artifacts)
    corpus = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    seed_corpus(corpus)
    started = time.perf_counter()

    def test_one_input(data: bytes) -> None:
        harness.one(data)
        if time.perf_counter() - started > args.seconds:
            # libFuzzer ends with a C exit(); report first, then leave without its teardown.
            print(json.dumps(harness.report(time.perf_counter() - started), indent=None if args.json else 2))
            sys.stdout.flush()
            os._exit(0)

    # libFuzzer flags: bounded input size, no crash artefacts of its own (findings are saved above).
    atheris.Setup([sys.argv[0], f"-max_len={args.max_len}", "-print_final_stats=0", str(corpus)],
                  test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
