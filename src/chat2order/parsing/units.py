"""Units of measure and packaging words: what "5kg", "2 cs", "3 molhos" or a catalog pack "6/#10 CAN" mean.

Measures go through pint (one `UnitRegistry` per process, extended by `models/units.txt`); packaging words
come from `models/lexicon/packaging.toml`. Everything is loaded on first use and cached, so the hot path is
a dictionary look-up. Output names are the canonical units of `bench/FORMAT.md`.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"

MEASURES = ("kg", "g", "lb", "oz", "l", "ml", "gal", "qt", "pt", "fl_oz")
CULINARY = ("cup", "tbsp", "tsp")
# Factor of each measure to its dimension's base (kg or l).
_FACTORS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "l": ("volume", 1.0),
    "ml": ("volume", 0.001),
    "gal": ("volume", 3.785411784),
    "qt": ("volume", 0.946352946),
    "pt": ("volume", 0.473176473),
    "fl_oz": ("volume", 0.0295735295625),
    "cup": ("volume", 0.2365882365),
    "tbsp": ("volume", 0.01478676478125),
    "tsp": ("volume", 0.00492892159375),
}
_PINT_TO_CANON = {
    "kilogram": "kg",
    "gram": "g",
    "pound": "lb",
    "ounce": "oz",
    "liter": "l",
    "milliliter": "ml",
    "gallon": "gal",
    "quart": "qt",
    "pint": "pt",
    "fluid_ounce": "fl_oz",
    "cup": "cup",
    "tablespoon": "tbsp",
    "teaspoon": "tsp",
}


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case without accents ("Pièce" -> "piece", "œufs" -> "oeufs"). Cached: words repeat."""
    if text.isascii():  # nothing to decompose: most order text, and every new message misses the cache
        return text.lower()
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@cache
def _lexicon() -> dict[str, Any]:
    with open(MODELS_DIR / "lexicon" / "packaging.toml", "rb") as fh:
        return tomllib.load(fh)


@cache
def _word_table() -> dict[str, tuple[str, str]]:
    """spelling -> (kind, canonical) where kind is measure, package, count or sale_pack."""
    lex = _lexicon()
    table: dict[str, tuple[str, str]] = {}
    for word in lex["sale_pack"]["words"]:
        table[fold(word)] = ("sale_pack", fold(word))
    for canon, words in lex["packaging"].items():
        kind = "count" if canon in ("each", "dozen") else "package"
        for word in words:
            table[fold(word)] = (kind, canon)
    for canon, words in lex["measures"].items():
        for word in words:
            table[fold(word)] = ("measure", canon)
    return table


@cache
def count_size_words() -> frozenset[str]:
    return frozenset(fold(w) for w in _lexicon()["count_size"]["words"])


@cache
def age_words() -> frozenset[str]:
    """Words after a number that give a product's ageing ("Comté 24 mois", "parmigiano 30 mesi")."""
    return frozenset(fold(w) for w in _lexicon()["age"]["words"])


@cache
def registry() -> Any:
    """The process-wide pint registry with the project's definitions (built once, ~0.1 s)."""
    import pint

    ureg = pint.UnitRegistry()
    ureg.load_definitions(str(MODELS_DIR / "units.txt"))
    return ureg


@lru_cache(maxsize=65536)
def _pint_unit(word: str) -> str | None:
    """Canonical measure for a spelling pint knows ("kilograms", "litres", "tbsp"); None otherwise."""
    if len(word) < 2 or not word.isascii() or not word.replace("_", "").isalpha():
        return None
    try:
        unit = registry().parse_units(word)
    except Exception:  # noqa: BLE001 - pint raises many error types for unknown words; none matters here
        return None
    return _PINT_TO_CANON.get(str(unit)) or _PINT_TO_CANON.get(str(registry().get_root_units(unit)[1]))


@lru_cache(maxsize=65536)
def unit_word(word: str) -> tuple[str, str] | None:
    """Classify one token: ("measure", "kg"), ("package", "case"), ("count", "dozen"), ("sale_pack", w)."""
    key = fold(word).rstrip(".")
    if not key:
        return None
    hit = _word_table().get(key)
    if hit:
        return hit
    if key in _function_words():
        # "on a du stock": pint reads "du" as a unit of mass; a word of the language is never a unit.
        return None
    canon = _pint_unit(key)
    if canon:
        return ("measure", canon)
    return None


@cache
def _function_words() -> frozenset[str]:
    """Filler words of all five languages (models/lexicon/grammar.toml) that the packaging table lacks."""
    with open(MODELS_DIR / "lexicon" / "grammar.toml", "rb") as fh:
        filler = tomllib.load(fh)["filler"]
    table = _word_table()
    return frozenset(fold(w) for words in filler.values() for w in words if fold(w) not in table)


@lru_cache(maxsize=65536)
def table_word(word: str) -> tuple[str, str] | None:
    """`unit_word` from the packaging/measure word table only, without asking pint: for callers that act
    only on packaging and count words (pint only ever answers "measure"). Every product word of a line
    passes through such a test, and pint's parser costs ~0.25 ms per word it does not know."""
    key = fold(word).rstrip(".")
    return _word_table().get(key) if key else None


def dimension(unit: str | None) -> str | None:
    if unit is None:
        return None
    hit = _FACTORS.get(unit)
    if hit:
        return hit[0]
    if unit in ("each", "dozen"):
        return "count"
    return None


def to_base(quantity: float, unit: str) -> float | None:
    """Quantity in the dimension's base unit (kg, l, each); None for packaging units."""
    if unit in _FACTORS:
        return quantity * _FACTORS[unit][1]
    if unit == "each":
        return quantity
    if unit == "dozen":
        return quantity * 12
    return None


def is_measure(unit: str | None) -> bool:
    return unit is not None and unit in _FACTORS


@dataclass(frozen=True)
class Pack:
    """A catalog pack string read: container word, inner count, and the measure of what is inside."""

    container: str | None  # canonical packaging unit named ("case", "bag"), or a sale-pack word
    count: int  # inner units ("12 x 1 pint" -> 12), 1 when none
    content: float | None  # measure of one pack in base units (kg or l), or None
    content_dim: str | None  # "mass" / "volume" / "count"
    per_measure: str | None  # "per lb" / "kg": the SKU is sold loose by this measure
    words: frozenset[str]  # folded words of the pack string (for sale-pack hints)


_PACK_NUM = re.compile(r"(\d+(?:[.,]\d+)?(?:\s+\d/\d)?|\d/\d)")
_PACK_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z_]+|#")


def _num(text: str) -> float:
    text = text.replace(",", ".")
    if "/" in text:
        parts = text.split()
        total = 0.0
        for part in parts:
            if "/" in part:
                a, b = part.split("/")
                total += float(a) / float(b) if float(b) else 0.0
            else:
                total += float(part)
        return total
    return float(text)


@lru_cache(maxsize=65536)
def parse_pack(pack: str, sale_unit: str = "") -> Pack:
    """Read a catalog pack description: "25 lb case", "cx 6 kg", "6/#10 CAN", "4/1 GAL", "12/32 OZ", "per lb"."""
    text = fold(pack or "")
    # "6/#10 CAN", "4/1 GAL", "12/32 OZ": inner count / size. Keep the inner count, read the size as a measure.
    count = 1
    m = re.match(r"\s*(\d+)\s*/\s*#?(\d+(?:[.,]\d+)?)\s*([a-z#]*)", text)
    m_x = re.search(r"(\d+)\s*x\s*(\d+(?:[.,]\d+)?)\s*([a-z#]+)", text)
    tokens = _PACK_TOKEN.findall(text)
    words = frozenset(t for t in tokens if not t[0].isdigit())
    container: str | None = None
    per_measure: str | None = None
    content: float | None = None
    content_dim: str | None = None
    for tok in tokens:
        if tok[0].isdigit():
            continue
        hit = unit_word(tok)
        if hit and hit[0] in ("package", "sale_pack") and container is None:
            container = hit[1]
    if m and m.group(3) != "" and not re.match(r"\s*\d+\s*/\s*\d+\s*(bu|bushel)", text):
        count = int(m.group(1))
        hit = unit_word(m.group(3) or "")
        if hit and hit[0] == "measure":
            content = to_base(_num(m.group(2)), hit[1])
            content_dim = dimension(hit[1])
    elif m_x:
        count = int(m_x.group(1))
        hit = unit_word(m_x.group(3))
        if hit and hit[0] == "measure":
            content = to_base(_num(m_x.group(2)), hit[1])
            content_dim = dimension(hit[1])
    else:
        for nm in re.finditer(r"(\d+(?:[.,]\d+)?)\s*([a-z#]+)", text):
            hit = unit_word(nm.group(2))
            if hit and hit[0] == "measure":
                content = to_base(_num(nm.group(1)), hit[1])
                content_dim = dimension(hit[1])
                break
            if hit and hit[0] == "count" or nm.group(2) in ("ct", "count", "x"):
                continue
    if content is None:
        # "per lb", "kg", "per kg (approx. 5-6 kg)": sold loose by that measure.
        first = tokens[1] if tokens[:1] == ["per"] and len(tokens) > 1 else (tokens[0] if tokens else "")
        hit = unit_word(first) if first else None
        if hit and hit[0] == "measure":
            per_measure = hit[1]
    elif sale_unit in _FACTORS and not re.search(r"\d", text.split("(")[0]):
        per_measure = sale_unit
    if sale_unit in _FACTORS and per_measure is None and content is None:
        per_measure = sale_unit
    if sale_unit in _FACTORS and text.startswith(("per ", "kg", "lb", "/")):
        per_measure = sale_unit
        content = None
        content_dim = None
    return Pack(container, count, content, content_dim, per_measure, words)


def canonical_output(unit: str) -> str:
    """The name a prediction uses for a canonical unit (identity; kept as the one place to change it)."""
    return unit


def decimal(value: float) -> Decimal:
    """A quantity as a Decimal without binary noise (0.5 -> 0.5, 1/3 -> 0.3333)."""
    if math.isnan(value) or math.isinf(value):
        return Decimal(0)
    # Remembered per value (a few dozen quantities recur); not for zero, whose sign the Decimal keeps but a
    # dict key does not (-0.0 == 0.0).
    out = _DECIMALS.get(value) if value else None
    if out is None:
        out = Decimal(str(round(value, 4))).normalize()
        if value and len(_DECIMALS) < 10_000:
            _DECIMALS[value] = out
    return out


_DECIMALS: dict[float, Decimal] = {}
