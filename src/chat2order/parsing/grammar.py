"""Cue words of the order grammar, read from `models/lexicon/*.toml` once per process.

Number words, filler words, "the usual", "same as last friday", edits ("without", "double", "instead of"),
self-corrections and withdrawn items, per language. The parser asks this module questions; it never
holds word lists in code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from chat2order.parsing.units import MODELS_DIR, fold

LANGS = ("en", "pt", "fr", "it", "es")


@cache
def _load(name: str) -> dict[str, Any]:
    with open(MODELS_DIR / "lexicon" / f"{name}.toml", "rb") as fh:
        return tomllib.load(fh)


def _own_first(lang: str) -> tuple[str, ...]:
    return (lang, *(x for x in LANGS if x != lang))


@cache
def number_words(lang: str) -> dict[str, float]:
    """Number words of all five languages (chefs mix them), the locale's own winning, folded."""
    words = _load("numbers")["words"]
    out: dict[str, float] = {}
    for code in _own_first(lang)[::-1]:
        for word, value in words.get(code, {}).items():
            out[fold(word)] = float(value)
    return out


@cache
def articles(lang: str) -> frozenset[str]:
    arts = _load("numbers")["articles"]
    return frozenset(fold(w) for code in {"en", lang} for w in arts.get(code, ()))


@cache
def and_half() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold(p).split()) for p in _load("numbers")["and_half"]["words"])


@cache
def fractions() -> dict[str, float]:
    """Unicode fractions, keyed by their folded form ("½" folds to "1⁄2")."""
    out: dict[str, float] = {}
    for k, v in _load("numbers")["fractions"].items():
        out[k] = float(v)
        out[fold(k)] = float(v)
    return out


@cache
def correction_words(lang: str) -> frozenset[str]:
    """Single words of the self-correction phrases (dropped from product words)."""
    table = _load("grammar")["correction"]
    return frozenset(w for code in {"en", lang} for p in table.get(code, ()) for w in fold(p).split())


@cache
def filler(lang: str) -> frozenset[str]:
    """Words that never name a product, in all five languages (a Mexican kitchen writes Spanish to an
    American produce house)."""
    words = _load("grammar")["filler"]
    calendar = _load("grammar")["calendar"]["words"]
    return frozenset(fold(w) for code in LANGS for w in words.get(code, ())) | frozenset(fold(w) for w in calendar)


@cache
def weekdays(lang: str) -> dict[str, int]:
    table = _load("grammar")["weekdays"]
    out: dict[str, int] = {}
    for code in _own_first(lang)[::-1]:
        out.update({fold(k): v for k, v in table.get(code, {}).items()})
    return out


@dataclass(frozen=True)
class Phrases:
    """Compiled phrase patterns of one cue kind for one language (own language first, then English)."""

    pattern: re.Pattern[str] | None

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.pattern else None

    def finditer(self, text: str) -> list[re.Match[str]]:
        return list(self.pattern.finditer(text)) if self.pattern else []


def _compile(phrases: list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = sorted({re.escape(fold(p)).replace(r"\ ", r"\s+") for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])")


@cache
def phrases(kind: str, lang: str) -> Phrases:
    table = _load("grammar")[kind]
    words: list[str] = []
    for code in {"en", lang}:
        words.extend(table.get(code, ()))
    return Phrases(_compile(words))


@cache
def same_as_pattern(lang: str) -> re.Pattern[str] | None:
    """Pattern for "same as last friday" forms; the named group `day` holds the weekday word."""
    days = sorted(weekdays(lang), key=len, reverse=True)
    day_alt = "(?P<day>" + "|".join(re.escape(d) for d in days) + r")(?:[-\s]feira)?"
    forms: list[str] = []
    table = _load("grammar")["same_as"]
    for code in {"en", lang}:
        for form in table.get(code, ()):
            escaped = re.escape(fold(form)).replace(r"\ ", r"\s+").replace(r"\{day\}", "{day}")
            forms.append(escaped)
    if not forms:
        return None
    alts = sorted(set(forms), key=len, reverse=True)
    body = "|".join("(?:" + f.replace("{day}", day_alt.replace("(?P<day>", "(?:")) + ")" for f in alts)
    # Re-capture the weekday in a single named group by searching it again inside the match.
    return re.compile(r"(?<![\w])(?:" + body + r")(?![\w])")


@cache
def food_groups() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold(w) for w in group) for group in _load("food")["groups"])


@cache
def abbreviations() -> dict[str, str]:
    return {fold(k): fold(v) for k, v in _load("food").get("abbreviations", {}).items()}


@cache
def calendar_words() -> frozenset[str]:
    return frozenset(fold(w) for w in _load("grammar")["calendar"]["words"])


@cache
def swap_pattern(lang: str) -> re.Pattern[str] | None:
    """"(but) swap the X for Y" in English and `lang`: groups `old` and `new` (folded text)."""
    table = _load("grammar")["swap"]
    verbs: list[str] = []
    between: list[str] = []
    for code in {"en", lang}:
        verbs.extend(table.get(code, {}).get("verbs", ()))
        between.extend(table.get(code, {}).get("between", ()))
    if not verbs or not between:
        return None
    alt_v = "|".join(sorted({re.escape(fold(v)) for v in verbs}, key=len, reverse=True))
    alt_b = "|".join(sorted({re.escape(fold(b)) for b in between}, key=len, reverse=True))
    return re.compile(
        rf"(?:^|\s)(?:{alt_v})\s+(?P<old>.+?)\s+(?:{alt_b})\s+(?P<new>.+)$"
    )
