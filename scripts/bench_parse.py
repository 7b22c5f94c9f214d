#!/usr/bin/env python3
"""Parser speed benchmark (issue 7). Prints figures; never asserts on time.

Generates (seeded) realistic catalogs of 1k, 10k and 100k SKUs, a kitchen's usual items with 20 past orders
(history), and four-line chef orders (three usual items, one from anywhere; typos, reordered words, mixed
units); builds the catalog index; measures index build time (untraced) and memory (RSS delta; with
`--tracemalloc` also the traced Python allocations), parse throughput and p50/p99 latency in one process,
whether the lines got the right product, and, in the same run, the naive baseline (rapidfuzz `extractOne`
with WRatio and `default_process` over every product name, per line; also with the names pre-processed
once) so the ratio is measured side by side. Also the cold start-up of a worker-like process (interpreter,
imports, spaCy pipeline and lemma table, index build, first parse) and its peak resident memory.

    .venv/bin/python scripts/bench_parse.py            # readable table
    .venv/bin/python scripts/bench_parse.py --json     # one JSON object for tracking over time
    .venv/bin/python scripts/bench_parse.py --sizes 200,400 --messages 10 --repeats 1 --baseline 5 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from decimal import Decimal

PRODUCE = {
    "TOMATO": ["ROMA", "5X6", "6X6", "BEEFSTEAK", "VINE RIPE", "GRAPE", "CHERRY RED", "HEIRLOOM MIX", "GREEN"],
    "ONION": ["YELLOW JUMBO", "RED", "WHITE", "SWEET VIDALIA", "PEARL", "CIPOLLINI", "SHALLOT"],
    "POTATO": ["RUSSET 70CT", "RUSSET 90CT", "YUKON GOLD", "RED B", "FINGERLING", "SWEET"],
    "LETTUCE": ["ROMAINE", "ICEBERG", "GREEN LEAF", "RED LEAF", "BOSTON", "SPRING MIX", "ARUGULA BABY"],
    "PEPPER": ["GREEN BELL", "RED BELL", "YELLOW BELL", "JALAPENO", "POBLANO", "SERRANO", "HABANERO"],
    "LEMON": ["115CT", "140CT", "165CT", "200CT", "MEYER"],
    "LIME": ["110CT", "150CT", "175CT", "230CT", "KEY"],
    "APPLE": ["GRANNY SMITH", "FUJI", "GALA", "HONEYCRISP", "PINK LADY"],
    "MUSHROOM": ["BUTTON WHITE", "CREMINI", "PORTOBELLO", "SHIITAKE", "OYSTER", "CHANTERELLE"],
    "HERB": ["BASIL", "CILANTRO", "PARSLEY ITALIAN", "PARSLEY CURLY", "MINT", "THYME", "ROSEMARY", "DILL", "CHIVES"],
    "CHEESE": ["CHEDDAR SHARP", "MOZZARELLA WHOLE MILK", "PARMESAN", "FETA", "RICOTTA", "CREAM", "GOAT", "SWISS"],
    "CREAM": ["HEAVY 40%", "LIGHT", "SOUR", "HALF & HALF", "CREME FRAICHE"],
    "SQUASH": ["ZUCCHINI", "YELLOW", "BUTTERNUT", "ACORN", "SPAGHETTI"],
    "CABBAGE": ["GREEN", "RED", "NAPA", "SAVOY"],
    "BERRY": ["STRAWBERRY", "BLUEBERRY", "RASPBERRY", "BLACKBERRY"],
    "CARROT": ["JUMBO", "BABY PEELED", "RAINBOW", "SHREDDED"],
}
PACKS = [("25 lb case", "case"), ("50 lb sack", "bag"), ("per lb", "lb"), ("10 lb case", "case"), ("5 lb bag", "bag"),
         ("12 ct case", "case"), ("1 dozen", "dozen"), ("each", "each"), ("bunch", "bunch"), ("1 kg", "kg"),
         ("4/5 LB", "case"), ("12/32 OZ", "case"), ("6/#10 CAN", "case"), ("flat 12 pt", "flat")]
GRADES = ["", "ORGANIC", "US#1", "PREMIUM", "LOCAL", "CHOICE", "FANCY", "XL", "MED"]
ORIGINS = ["", "CA", "MX", "FL", "NJ", "PERU", "CHILE", "SPAIN", "ITALY", "NL", "IDAHO", "WASH"]
ORDER_UNITS = ["cs", "case", "cases", "kg", "lb", "lbs", "#", "bag", "sack", "bunch", "dz", "ea", "box", ""]
OPENERS = ["hey joe", "hi", "evening", "yo", "", "", "pls send for tmrw:", "order for friday:"]
CLOSERS = ["thx", "thanks!", "cheers", "", "", "ty", "pls confirm"]


def make_catalog(n: int, seed: int) -> list:
    from chat2order.parsing.model import CatalogEntry

    rng = random.Random(seed)
    entries, seen = [], set()
    families = list(PRODUCE.items())
    i = 0
    while len(entries) < n:
        family, varieties = families[i % len(families)]
        variety = rng.choice(varieties)
        grade, origin = rng.choice(GRADES), rng.choice(ORIGINS)
        pack, unit = rng.choice(PACKS)
        words = [w for w in (family, variety, grade, origin) if w]
        if len(entries) >= 2000:  # big catalogs: brand and lot words make names unique, as in broadline lists
            words.append(f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(10, 999)}")
        name = " ".join(words)
        key = (name, pack)
        i += 1
        if key in seen:
            continue
        seen.add(key)
        price = Decimal(rng.randint(150, 9000)) / 100
        entries.append(CatalogEntry(sku=f"SKU-{len(entries):06d}", name=name, pack=pack, unit=unit, price=price))
    return entries


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or rng.random() > 0.25:
        return word
    j = rng.randrange(1, len(word) - 1)
    return word[:j] + word[j + 1:] if rng.random() < 0.5 else word[:j] + word[j + 1] + word[j] + word[j + 2:]


def make_messages(catalog: list, count: int, seed: int) -> list[str]:
    """`count` chef orders of four lines each over `catalog` (texts only)."""
    return [text for text, _ in make_orders(catalog, count, seed)]


def usual_items(catalog: list, seed: int, n: int = 150) -> list:
    """The few hundred SKUs one kitchen keeps ordering from a broadline catalog (its order guide)."""
    return random.Random(seed).sample(catalog, min(n, len(catalog)))


def make_history(usual: list, received: dt.datetime, seed: int, orders: int = 20) -> tuple:
    """Past confirmed orders of that kitchen: what lets a clerk tell apart SKUs that read alike."""
    from chat2order.parsing.model import PastLine, PastOrder

    rng = random.Random(seed)
    past = []
    for k in range(orders):
        lines = tuple(PastLine(e.sku, Decimal(rng.choice([1, 2, 3, 5])), e.unit)
                      for e in rng.sample(usual, min(12, len(usual))))
        past.append(PastOrder(received - dt.timedelta(days=2 * (orders - k)), lines))
    return tuple(past)


def make_orders(catalog: list, count: int, seed: int, usual: list | None = None) -> list[tuple[str, list]]:
    """`count` chef orders, each with the catalog entries its four lines were written from.

    A line names the product as a chef would: the name's words without pack sizes and lot/brand codes
    (the words with digits), often reordered, with typos. With `usual`, three lines in four come from the
    kitchen's usual items (as in real orders), the fourth from anywhere in the catalog.
    """
    rng = random.Random(seed)
    messages = []
    for _ in range(count):
        lines = []
        if usual:
            sources = rng.sample(usual, 3) + [rng.choice(catalog)]
            rng.shuffle(sources)
        else:
            sources = rng.sample(catalog, 4)
        for entry in sources:
            words = [w for w in entry.name.lower().split() if not re.search(r"\d", w)]
            if rng.random() < 0.5:
                words = words[1:] + words[:1]  # chefs say "roma tomato", lists say "TOMATO ROMA"
            product = " ".join(_typo(w, rng) for w in words)
            qty = rng.choice(["1", "2", "3", "5", "10", "1.5", "2,5", "½", "two", "a"])
            unit = rng.choice(ORDER_UNITS)
            glue = " " if qty.isalpha() or unit == "" else rng.choice(["", " "])
            lines.append(f"{qty}{glue}{unit} {product}" if unit else f"{qty} {product}")
        sep = rng.choice(["\n", ", ", "\n- ", "; "])
        body = sep.join(lines)
        messages.append((" ".join(p for p in (rng.choice(OPENERS), body, rng.choice(CLOSERS)) if p), sources))
    return messages


def _base(name: str) -> str:
    """A name without its lot/brand words: what the chef could say (big catalogs repeat it under many SKUs)."""
    return " ".join(w for w in name.lower().split() if not re.search(r"\d", w))


def _hits(found: list, sources: list, by_sku: dict) -> tuple[int, int]:
    """(lines whose SKU is the source SKU, lines whose SKU has the source's name minus lot words).

    Lines given an SKU that is neither are wrong: `len(found) - same`."""
    wanted = {e.sku for e in sources}
    bases = [_base(e.name) for e in sources]
    exact = sum(1 for sku in found if sku in wanted)
    same = 0
    for sku in found:
        entry = by_sku.get(sku)
        if entry is not None and _base(entry.name) in bases:
            bases.remove(_base(entry.name))
            same += 1
    return exact, same


def rss_mb() -> float:
    """Current resident set size (not the peak), so a delta shows what a structure holds."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_size(n: int, messages_n: int, baseline_n: int, repeats: int, trace: bool) -> dict:
    from chat2order.parsing import parse
    from chat2order.parsing.index import CatalogIndex
    from chat2order.parsing.model import ParseContext

    catalog = make_catalog(n, seed=n)
    usual = usual_items(catalog, seed=n + 2)
    orders = make_orders(catalog, messages_n, seed=n + 1, usual=usual)
    messages = [text for text, _ in orders]
    by_sku = {e.sku: e for e in catalog}
    CatalogIndex.build(catalog[:50])  # lemma tables and language data load once per process, not per catalog
    # Build time without tracemalloc: tracing every allocation slows the build 10x (8 s vs 0.65 s at 10k).
    # Memory as the RSS delta of that build (sees C/C++ allocations of numpy and rapidfuzz too) and, with
    # --tracemalloc, as traced Python allocations of a second build.
    gc.collect()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    index = CatalogIndex.build(catalog)
    build_s = time.perf_counter() - t0
    gc.collect()
    index_rss_mb = rss_mb() - rss0
    traced_mb = None
    if trace:
        tracemalloc.start()
        again = CatalogIndex.build(catalog)
        traced_mb = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        del again
    received = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    history = make_history(usual, received, seed=n + 3)
    ctx = ParseContext(index=index, history=history, locale="en-US", received_at=received, channel="sms")
    for m, _ in make_orders(catalog, 20, seed=n + 999, usual=usual):
        parse(m, ctx)  # warm the language data as a long-running worker would be
    # Every repeat parses messages it has never seen: the index's search cache must not answer from a
    # previous pass, or the median would overstate throughput.
    rounds = [orders] + [make_orders(catalog, messages_n, seed=n + 1 + 1000 * r, usual=usual) for r in range(1, repeats)]
    rates, latencies, lines, exact, same, given = [], [], 0, 0, 0, 0
    for r, round_orders in enumerate(rounds):
        lat = []
        t0 = time.perf_counter()
        for m, (_, sources) in ((text, o) for text, o in zip((t for t, _ in round_orders), round_orders)):
            s = time.perf_counter()
            result = parse(m, ctx)
            lat.append(time.perf_counter() - s)
            if r == 0:
                lines += len(result.lines)
                skus = [ln.sku for ln in result.lines if ln.sku]
                e, sm = _hits(skus, sources, by_sku)
                exact, same, given = exact + e, same + sm, given + len(skus)
        rates.append(len(round_orders) / (time.perf_counter() - t0))
        latencies.extend(lat)
    lines_per_msg = lines / len(messages)
    out = {
        "skus": n,
        "index_build_s": round(build_s, 3),
        "index_mb": round(max(index_rss_mb, traced_mb or 0.0), 1),
        "index_rss_mb": round(index_rss_mb, 1),
        "index_traced_mb": round(traced_mb, 1) if traced_mb is not None else None,
        "msgs_per_s": round(statistics.median(rates), 1),
        "msgs_per_s_runs": [round(x, 1) for x in rates],
        "lines_per_s": round(statistics.median(rates) * lines_per_msg, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
        "lines_per_msg": round(lines_per_msg, 2),
        # Of the 4 lines written per message: the source SKU itself, or an SKU of the same product
        # (big catalogs list one product under many lot/brand SKUs the chef cannot tell apart).
        "sku_exact_rate": round(exact / (4 * len(messages)), 3),
        "same_product_rate": round(same / (4 * len(messages)), 3),
        # Lines given an SKU of another product (a line left without SKU for review is not wrong, only open).
        "wrong_sku_rate": round((given - same) / (4 * len(messages)), 3),
    }
    if baseline_n:
        b = baseline(catalog, orders[:baseline_n], by_sku)
        out.update(b)
        out["ratio_vs_baseline"] = round(out["msgs_per_s"] / b["baseline_msgs_per_s"], 1)
        out["ratio_vs_prepared_baseline"] = round(out["msgs_per_s"] / b["baseline_prepared_msgs_per_s"], 1)
    return out


def baseline(catalog: list, orders: list, by_sku: dict) -> dict:
    """The straightforward implementation: split lines, strip quantity/unit by regex, extractOne over all names.

    As the issue measures it: WRatio with `default_process`, which rapidfuzz applies to every choice on
    every call. The "prepared" variant processes the names once (what a slightly careful naive version
    would do) and is reported too, so the ratio is not flattered by the per-call preprocessing.
    """
    from rapidfuzz import fuzz, process, utils

    names = [e.name for e in catalog]
    prepared = [utils.default_process(n) for n in names]
    qty = re.compile(r"^\s*(?:[-•*]\s*)?([\d.,½]+|two|a)\s*(cs|cases?|kg|lbs?|#|bag|sack|bunch|dz|ea|box)?\s*", re.IGNORECASE)
    products = [[qty.sub("", part).strip() for part in re.split(r"[\n,;]+", text)] for text, _ in orders]
    found: list[list[str]] = []
    t0 = time.perf_counter()
    for parts in products:
        skus = []
        for product in parts:
            if product:
                best = process.extractOne(product, names, scorer=fuzz.WRatio, processor=utils.default_process)
                skus.append(catalog[best[2]].sku)
        found.append(skus)
    plain = len(orders) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for parts in products:
        for product in parts:
            if product:
                process.extractOne(utils.default_process(product), prepared, scorer=fuzz.WRatio, processor=None)
    prepared_rate = len(orders) / (time.perf_counter() - t0)
    exact = same = given = 0
    for skus, (_, sources) in zip(found, orders):
        e, sm = _hits(skus, sources, by_sku)
        exact, same, given = exact + e, same + sm, given + len(skus)
    return {"baseline_msgs_per_s": round(plain, 2), "baseline_prepared_msgs_per_s": round(prepared_rate, 2),
            "baseline_sku_exact_rate": round(exact / (4 * len(orders)), 3),
            "baseline_same_product_rate": round(same / (4 * len(orders)), 3),
            "baseline_wrong_sku_rate": round((given - same) / (4 * len(orders)), 3)}


STARTUP = r"""
import time
t0 = time.perf_counter()
import datetime as dt, json, resource, sys
from chat2order.parsing import parse
from chat2order.parsing.index import CatalogIndex
from chat2order.parsing.model import ParseContext
t_imports = time.perf_counter()
sys.path.insert(0, "scripts")
from bench_parse import make_catalog
catalog = make_catalog(int(sys.argv[1]), seed=int(sys.argv[1]))
t1 = time.perf_counter()
index = CatalogIndex.build(catalog)
t_index = time.perf_counter()
ctx = ParseContext(index=index, locale="en-US", received_at=dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.timezone.utc))
parse("2cs roma tomato, 5kg yellow onion, 1 box lemons pls for tmrw", ctx)
t2 = time.perf_counter()
print(json.dumps({"imports_s": t_imports - t0, "index_s": t_index - t1, "first_parse_s": t2 - t_index,
                  "catalog_generation_s": t1 - t_imports,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def startup(skus: int) -> dict:
    """Cold start of a fresh interpreter to its first parse on a `skus` catalog: interpreter start, imports,
    index build, first parse (which loads the parser's lazy language data); catalog generation excluded."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", STARTUP, str(skus)], capture_output=True, text=True,
                             check=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             env=dict(os.environ, PYTHONPATH="src"))
        wall = time.perf_counter() - t0
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["startup_s"] = wall - r["catalog_generation_s"]
        runs.append(r)
    med = {k: round(statistics.median(r[k] for r in runs), 3)
           for k in ("startup_s", "imports_s", "index_s", "first_parse_s", "rss_mb")}
    return {"startup_s": med["startup_s"], "startup_imports_s": med["imports_s"], "startup_index_s": med["index_s"],
            "startup_first_parse_s": med["first_parse_s"], "startup_rss_mb": med["rss_mb"], "startup_skus": skus}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--messages", type=int, default=1000, help="messages per catalog size")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", type=int, default=100, help="messages for the naive baseline (a fifth at the "
                    "biggest size, which costs ~0.3 s per message)")
    ap.add_argument("--sizes", default="1000,10000,100000",
                    help="catalog sizes; the `_10k` keys report the second, the `_100k` keys the last")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace the index's Python allocations "
                    "(slow: a 100k build takes minutes under tracemalloc)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    mid, big = sizes[min(1, len(sizes) - 1)], sizes[-1]
    results = {}
    for n in sizes:
        results[n] = bench_size(n, args.messages, baseline_n=args.baseline if n < big or len(sizes) == 1
                                else max(1, args.baseline // 5), repeats=args.repeats, trace=args.tracemalloc)
        if not args.json:
            print(json.dumps(results[n]), file=sys.stderr)
    summary = {"machine": f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}",
               "loadavg_1m": round(os.getloadavg()[0], 2), "mid_skus": mid, "big_skus": big,
               "sizes": {str(k): v for k, v in results.items()}}
    r = results[mid]
    summary.update(msgs_per_s_10k=r["msgs_per_s"], p99_ms_10k=r["p99_ms"],
                   baseline_msgs_per_s_10k=r.get("baseline_msgs_per_s"), ratio_10k=r.get("ratio_vs_baseline"),
                   ratio_prepared_10k=r.get("ratio_vs_prepared_baseline"))
    r = results[big]
    summary.update(msgs_per_s_100k=r["msgs_per_s"], index_build_s_100k=r["index_build_s"],
                   index_mb_100k=r["index_mb"], p99_ms_100k=r["p99_ms"],
                   ratio_100k_vs_10k=round(r["msgs_per_s"] / results[mid]["msgs_per_s"], 2))
    summary.update(startup(mid))
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{'SKUs':>7} {'build s':>8} {'index MB':>9} {'msg/s':>8} {'lines/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'lines/msg':>9} {'same prod':>9} {'wrong':>6} {'naive msg/s':>12} {'ratio':>6} {'naive same':>10} "
          f"{'naive wrong':>11}")
    for n, r in results.items():
        print(f"{n:>7} {r['index_build_s']:>8} {r['index_mb']:>9} {r['msgs_per_s']:>8} {r['lines_per_s']:>8} "
              f"{r['p50_ms']:>7} {r['p99_ms']:>7} {r['lines_per_msg']:>9} {r['same_product_rate']:>9} "
              f"{r['wrong_sku_rate']:>6} {r.get('baseline_msgs_per_s', '-'):>12} {r.get('ratio_vs_baseline', '-'):>6} "
              f"{r.get('baseline_same_product_rate', '-'):>10} {r.get('baseline_wrong_sku_rate', '-'):>11}")
    print(f"worker start-up to first parse ({mid} SKUs): {summary['startup_s']} s "
          f"(imports {summary['startup_imports_s']} s, index {summary['startup_index_s']} s, first parse "
          f"{summary['startup_first_parse_s']} s), RSS {summary['startup_rss_mb']} MB; load {summary['loadavg_1m']}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    main()
