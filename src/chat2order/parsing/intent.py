"""Intent of a cleaned message: an order (new, added to, repeated, a replacement delivery) or something else.

Rules, not a trained classifier: cue phrases per language in `models/intent/cues.toml` are weighted and
summed with the quantities found in the text. Why rules: the decisive evidence is structural (is there a
quantity with a unit? is it a time, a price, an invoice number?) and lexical in five languages with very
few "other" examples to learn from; a weighted cue list is measurable, explainable in `reason`, and
extended by adding a phrase to a data file. A small spaCy text classifier trained on our own sentences
(`scripts/train_intent.py`, `fixtures/intent/`) measured worse; figures in `models/intent/README.md`.

The score is the sum of cue weights (each cue counted once); `confidence` is a logistic of the score's
distance from zero, so a message decided by one weak cue comes back near 0.5 and the core can combine
it with what it found (product lines with quantities).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from chat2order.parsing._langdata import load

# Logistic slope: a score of 2 gives ~0.85, 4 gives ~0.97; on dev no message with |score| >= 1 was wrong.
_SLOPE = 0.87


@dataclass(frozen=True)
class IntentGuess:
    intent: Literal["order", "other"]
    confidence: float  # 0.5 .. 0.99: how sure, calibrated from the score margin
    reason: str  # the cues that decided, for a person reading the log


@dataclass(frozen=True)
class _Rules:
    weights: dict[str, float]
    cues: dict[str, re.Pattern[str]]
    qty_unit: re.Pattern[str]
    qty_item: re.Pattern[str]
    not_quantity: re.Pattern[str]
    not_standing: re.Pattern[str]
    not_replacement: re.Pattern[str]
    dates: re.Pattern[str]
    date_heads: frozenset[str] | None
    month_any: re.Pattern[str]
    for_day: re.Pattern[str]
    day_any: re.Pattern[str]
    # Leading word of every phrase of each cue (and of the day words): a cue can only match where the text
    # has one of these words, so a cheap set test skips most of the long alternations.
    # (None: some phrase does not start with a word; its pattern is always run.)
    cue_heads: dict[str, frozenset[str] | None]
    day_heads: frozenset[str] | None
    for_day_heads: frozenset[str] | None
    not_standing_heads: frozenset[str] | None


def _fold(text: str) -> str:
    if text.isascii():  # nothing to decompose or strip
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_WORD_RUN = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?\n]+")


def _heads(words: list[str]) -> frozenset[str] | None:
    """The leading word (run of \\w) of each folded phrase; None when a phrase does not start with one.

    A match of `(?<![\\w'])(?:phrases)` starts where no word character precedes, so the text's word
    starting there is exactly the phrase's leading word: no such word in the text, no match."""
    heads = set()
    for w in words:
        m = _WORD_RUN.match(_fold(w))
        if m is None:
            return None
        heads.add(m.group(0))
    return frozenset(heads)


def _may_match(runs: frozenset[str], heads: frozenset[str] | None) -> bool:
    return heads is None or not runs.isdisjoint(heads)


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(_fold(w)) for w in sorted(set(words), key=len, reverse=True))


def _first_chars(words: list[str]) -> str:
    """The first characters of the folded phrases, escaped for a character class."""
    return "".join(sorted({re.escape(_fold(w)[:1]) for w in words}))


def _led(digit_led: Sequence[str], word_led: Sequence[str], leads: str) -> str:
    """One alternation of `digit_led` alternatives (each starts with a digit) and `word_led` ones (each starts
    with a character of `leads`, never a digit), each group behind a one-character lookahead.

    At any one position only one group can match, so the matches and their priority are those of the plain
    alternation, whatever the interleaving; but the engine rejects a position by one class test instead of
    trying every alternative there (a pattern starting with a lookbehind or a group gets no fast scan)."""
    return rf"(?=[\d{leads}])(?:(?=\d)(?:{'|'.join(digit_led)})|{'|'.join(word_led)})"


# Numbers that are times, prices, ids, dates, sizes or phone numbers, not quantities: the alternatives that
# start with a digit, and those that start with a word or a sign (first characters in `_NOT_QUANTITY_LEADS`).
_NOT_QUANTITY_DIGIT_LED = (
    r"\d{1,2}\s*[:h]\s*\d{2}",
    r"\d{1,2}\s*(?:am|pm|h)\b",
    r"\d{1,2}h\s*-\s*\d{1,2}h",
    r"\d[\d,.]*\s*(?:€|£|eur|euros|dollars|usd|gbp)(?!\w)",  # also "21,90 €/kg"
    r"\d+\s*(?:ct|count|st|nd|rd|th|º|ª|°)\b",
    r"\d{1,3}\s*x\s*\d+(?![\w.,]*\s*(?:kg|lb|g|#))",
    r"\d+\s*/\s*\d+\s*/\s*\d+",
    r"\d{4,}",
    r"\d+(?:[\s.-]\d+){2,}",
    r"\d+\s*%",
    r"\b\d+\s*(?:people|pessoas|personas|persone|couverts|covers|pax|pizze|pizzas)\b",
)
_NOT_QUANTITY_WORD_LED = (
    r"(?:at|as|às|las|alle|ore|à|a las|before|after|antes de las|depois das|entre las|y las|e as)\s+\d{1,2}\b",
    r"[$£€]\s*\d[\d,.]*",
    r"(?:the|invoice|fatura|fattura|factura|facture|n\.|no\.|nº|#)\s*\d+",
)
_NOT_QUANTITY_LEADS = "#$aàbdefilnoty£€"


@cache
def _rules() -> _Rules:
    data = load("intent", "cues")
    cues = {
        name: re.compile(rf"(?<![\w'])(?:{_alternation(words)})(?![\w'])")
        for name, words in data["cues"].items()
    }
    # Blanked before the cues are read: standing-order and request words that mean something else here.
    blanked = data["masks"]["not_standing"] + data["masks"]["not_day"] + data["masks"]["not_request"]
    not_standing = re.compile(rf"(?<![\w'])(?:{_alternation(blanked)})(?![\w'])")
    not_replacement = re.compile(rf"(?<![\w'])(?:{_alternation(data['masks']['not_replacement'])})(?![\w'])")
    units = _alternation(data["numbers"]["units"])
    number_words = _alternation(data["numbers"]["words"])
    number = r"(?:\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?|½|¼|¾)"
    qty_unit = re.compile(
        rf"(?<![\w/])(?:{number}\s*(?:-\s*{number}\s*)?(?:x\s*)?|(?:{number_words})\s+(?:of\s+|de\s+|di\s+)?)"
        rf"(?:more\s+|extra\s+|mais\s+)?(?:{units})(?![\w])"
        rf"|(?<![\w/])x\s*\d+(?![\w/])|(?<![\w/])\d+\s*x(?![\w])"
        rf"|(?<![\w])(?:{_alternation(data['counts']['words'])})(?![\w])"
    )
    qty_item = re.compile(r"(?<![\w/.,#$£€])\d+(?:[.,]\d+)?(?![\w/%]|[.,]\d)")
    not_quantity = re.compile(_led(_NOT_QUANTITY_DIGIT_LED, _NOT_QUANTITY_WORD_LED, _NOT_QUANTITY_LEADS))
    days = load("dates", "words")
    langs = [days[lang] for lang in days]
    day_words = [w for d in langs for names in d["weekdays"] for w in names] + [
        w for d in langs for w in d["tomorrow"] + d["today"]
    ]
    month_words = [w for d in langs for names in d["months"] for w in names if len(w) > 3]
    weekdays = [w for d in langs for names in d["weekdays"] for w in names]
    day_of_month = ["le", "el", "il", "del", "dal", "du", "au", "dia", "the", "on the"]
    date_word_led = (
        # ... but not "jeudi 3 sacs", "vendredi 3 homards": a number then a product word is how many.
        rf"(?<![\w])(?:{_alternation(weekdays)})\s+(?:dia\s+|the\s+)?\d{{1,2}}(?!\s*(?:{units})(?![\w]))(?![\d.,]*\s+[^\W\d_]{{3,}})",
        # "le 24", "el 25 y el 26", "dia 17": a day of the month unless a unit follows.
        rf"(?<![\w])(?:{_alternation(day_of_month)})\s+\d{{1,2}}(?![\d.,])(?!\s*(?:{units})(?![\w]))",
    )
    date_digit_led = (rf"\d{{1,2}}(?:st|nd|rd|th|º|er)?\s*(?:de\s+|of\s+)?(?:{_alternation(month_words)})(?![\w])",)
    dates = re.compile(_led(date_digit_led, date_word_led, _first_chars(weekdays + day_of_month)))
    for_day = re.compile(
        rf"(?<![\w])(?:{_alternation([w for d in langs for w in d['before_strong']])})\s+(?:el\s+|o\s+|a\s+)?"
        rf"(?:{_alternation(day_words)})(?![\w])|^\s*(?:{_alternation(day_words)})\s*:"
        rf"|(?<![\w])(?:{_alternation([w for d in langs for w in d['tomorrow']])})(?![\w])",
        re.MULTILINE,
    )
    for_day_words = [w for d in langs for w in d["before_strong"]] + day_words
    return _Rules(
        cue_heads={name: _heads(words) for name, words in data["cues"].items()},
        day_heads=_heads(day_words),
        for_day_heads=_heads(for_day_words),
        not_standing_heads=_heads(blanked),
        not_replacement=not_replacement,
        day_any=re.compile(rf"(?<![\w])(?:{_alternation(day_words)})(?![\w])"),
        dates=dates,
        # A date needs a weekday or day-of-month word (each followed by a space, so a word of its own) or a
        # month name: without either, the text has no date to mask.
        date_heads=_heads(weekdays + day_of_month),
        month_any=re.compile(_alternation(month_words)),
        not_standing=not_standing,
        for_day=for_day,
        weights={k: float(v) for k, v in data["weights"].items()},
        cues=cues,
        qty_unit=qty_unit,
        qty_item=qty_item,
        not_quantity=not_quantity,
    )


def classify(text: str, locale: str = "en-US") -> IntentGuess:
    """Order or other for already-cleaned text, with a calibrated confidence and the deciding cues.

    `locale` is accepted for the contract; cue lists of all five languages apply (chefs mix them).
    """
    rules = _rules()
    folded = _fold(text or "")
    if not folded.strip():
        return IntentGuess("other", 0.9, "empty message")
    hits: dict[str, float] = {}
    folded_runs = frozenset(_WORD_RUN.findall(folded))
    if _may_match(folded_runs, rules.date_heads) or rules.month_any.search(folded):
        folded_dated = rules.dates.sub(" ", folded)
    else:
        folded_dated = folded
    masked = rules.not_quantity.sub(" ", folded_dated)
    # One pass counts and blanks the quantities with a unit (it cannot match empty: count == len(findall)).
    unit_free, qty_units = rules.qty_unit.subn(" ", masked)
    qty_items = len(rules.qty_item.findall(unit_free))
    if qty_units:
        hits["qty_unit"] = rules.weights["qty_unit"] * min(qty_units, 3)
    if qty_items:
        hits["qty_item"] = rules.weights["qty_item"] * min(qty_items, 3)
    runs = folded_runs
    cue_text = rules.not_standing.sub(" ", folded) if _may_match(runs, rules.not_standing_heads) else folded
    if cue_text is not folded:
        runs = frozenset(_WORD_RUN.findall(cue_text))
    heads = rules.cue_heads
    found = {name: _may_match(runs, heads.get(name)) and bool(p.search(cue_text)) for name, p in rules.cues.items()}

    def day_named() -> bool:
        return _may_match(runs, rules.day_heads) and rules.day_any.search(cue_text) is not None
    for name in (
        "standing",
        "conditional",
        "request",
        "credit",
        "complaint",
        "price",
        "availability",
        "hypothetical",
        "schedule",
        "autoreply",
    ):
        if found.get(name):
            hits[name] = rules.weights[name]
    # "please" asks for something only where nothing else is asked: in "credit pls" it asks for the credit.
    if found.get("polite") and not ({"request", "credit", "complaint", "price"} & hits.keys()):
        hits["polite"] = rules.weights["polite"]
    # A replacement verb counts when something went wrong or a day for the new delivery is named, and
    # not when what is sent again is paperwork ("pourriez-vous me renvoyer la facture").
    if found.get("replacement") and (
        found.get("complaint") or found.get("credit") or day_named()
    ) and rules.cues["replacement"].search(rules.not_replacement.sub(" ", cue_text)):
        hits["replacement"] = rules.weights["replacement"]
    if found.get("wrong_supplier"):
        hits["wrong_supplier"] = rules.weights["wrong_supplier"]
    if _may_match(runs, rules.for_day_heads) and rules.for_day.search(cue_text):
        hits["for_day"] = rules.weights["for_day"]
    if _may_match(folded_runs, heads.get("withdraw")) and _withdrawn(folded, rules):
        hits["withdraw"] = rules.weights["withdraw"]
    if found.get("standing_weak") and "standing" not in hits and day_named():
        hits["standing_weak"] = rules.weights["standing_weak"]
    if not qty_units and not qty_items and not ({"standing", "standing_weak", "replacement"} & hits.keys()):
        hits["no_quantity"] = rules.weights["no_quantity"]
    score = sum(hits.values())
    intent: Literal["order", "other"] = "order" if score > 0 else "other"
    confidence = round(min(0.99, 1.0 / (1.0 + math.exp(-_SLOPE * abs(score)))), 3)
    decisive = sorted(hits.items(), key=lambda kv: -abs(kv[1]))[:4]
    reason = ", ".join(f"{name} {weight:+g}" for name, weight in decisive) or "no cue"
    return IntentGuess(intent, confidence, f"score {score:+.1f}: {reason}")


def _withdrawn(folded: str, rules: _Rules) -> bool:
    """The last sentence withdraws the message ("... no espera, eso es la semana que viene. Olvídalo")."""
    sentences = [s for s in _SENTENCE_END.split(folded) if s.strip(" \t-–—()")]
    if not sentences:
        return False
    return bool(rules.cues["withdraw"].search(sentences[-1]))
