"""Delivery date named in an order message, relative to the local date it was received.

A message may mention several days ("same as last Friday, for tomorrow", "we're closed Thursday, for
Saturday: ...", "tomatoes today were green, for sat 1 cs"). Each mention is found, dropped when its
neighbours make it a reference (last / past / same as / closed / was / w/c), and scored: strong when a
word around it says delivery ("for", "para", "pour", "per", "x", "p/", "Sat:", "friday's order"), medium
when bare, weak for "today" and event days ("Sunday roast"). A self-correction ("no wait", "digo", "anzi")
drops the mentions before it. The strongest mention wins; among equals, the first.

Weekdays resolve to the next such day strictly after the local date of `received_at`; explicit dates
("Wednesday 11/25" in the US, "25/11" elsewhere, "Thursday 10 December", "18 de diciembre", "the 4th")
resolve to the nearest such date that is not in the past. Word lists live in `models/dates/words.toml`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from chat2order.parsing._langdata import LANGUAGES, load

_STRONG, _MEDIUM, _WEAK = 3, 2, 1
_NUM_UNITS = (
    r"kg|kgs|g|gr|lb|lbs|#|oz|l|lt|ml|cs|cx|x|ct|pk|pcs|un|ea|doz|dz|case|cases|bag|bags|box|kilo|kilos|h|hs|pm|am|"
    r"%|covers|pax|people|pessoas|personas|persone|couverts"
)
# Patterns of the per-message helpers, compiled once (a pattern string passed to `re` is looked up in its
# cache on every call, after building and hashing the string).
_NUMERIC_DATE = re.compile(
    rf"(?<![\w/.,#])(\d{{1,2}})/(\d{{1,2}})(?:/(\d{{2,4}}))?(?![\w/#]|[.,]\d|\s*(?:{_NUM_UNITS})\b)"
)
_DAY_NUMBER = re.compile(
    rf"(?<![\w/.,])(?:(?P<prefix>dia|día|dia\s+|the|le|el|il)\s+)?(?P<day>\d{{1,2}})(?P<ord>st|nd|rd|th)?(?![\w/]|[.,]\d|\s*(?:{_NUM_UNITS})\b|\s*[:h]\d)"
)
_WORD_BEFORE = re.compile(r"([\w']+)[,.]?\s+(?:(?:the|le|el|il|o|dia|día)\s+)?$")
# Words that carry a clause on after a day: "usual for sat but ...".
# (Only words that mean nothing else in another language: "mais" is also Portuguese "more".)
_CLAUSE_GOES_ON = frozenset(("but", "and", "plus", "with", "pero"))
_POSSESSIVE = re.compile(r"(?:'s|’s)$")
_CLAUSE_END = re.compile(r"[.!?;\n]")
_STOP_THEN_WORD = re.compile(r"\.\s*\w")
# Month abbreviations that are everyday words in one of the languages ("out", "set", "mar").
_AMBIGUOUS_MONTHS = frozenset({"set", "out", "mar", "ago", "may", "mai", "jun", "gen"})


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    date: dt.date
    strength: int


@dataclass(frozen=True)
class _Lexicon:
    relative: dict[str, int]  # "tomorrow" -> 1
    today: frozenset[str]
    weekdays: dict[str, int]  # "sexta" -> 4
    plural_weekdays: frozenset[str]
    guarded: frozenset[str]
    months: dict[str, int]
    before_strong: frozenset[str]
    after_strong: frozenset[str]
    before_reference: frozenset[str]
    after_reference: frozenset[str]
    after_event: frozenset[str]
    closed: frozenset[str]
    range_words: frozenset[str]
    correction: tuple[str, ...]
    morning_before: frozenset[str]
    day_re: re.Pattern[str]
    month_day_re: re.Pattern[str]
    day_month_re: re.Pattern[str]
    correction_re: re.Pattern[str]
    units: frozenset[str]  # unit and pack words: "jeudi 3 sacs" is a quantity, not the 3rd


def _fold(text: str) -> str:
    """Lower case without accents, so "sabado" meets "sábado" and "giovedi" meets "giovedì"."""
    if text.isascii():  # nothing to decompose or strip
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _alternation(words: set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _lexicon() -> _Lexicon:
    data = load("dates", "words")

    def merged(key: str) -> set[str]:
        return {_fold(w) for lang in LANGUAGES for w in data[lang].get(key, [])}

    relative: dict[str, int] = {}
    weekdays: dict[str, int] = {}
    months: dict[str, int] = {}
    for lang in LANGUAGES:
        words = data[lang]
        relative.update({_fold(w): 1 for w in words["tomorrow"]})
        relative.update({_fold(w): 2 for w in words["day_after_tomorrow"]})
        for number, names in enumerate(words["weekdays"]):
            weekdays.update({_fold(n): number for n in names})
        for number, names in enumerate(words["months"], start=1):
            months.update(
                {_fold(n): number for n in names if _fold(n) not in _AMBIGUOUS_MONTHS or len(n) > 3}
            )
    today = merged("today")
    plural = merged("plural_weekdays")
    day_words = set(relative) | today | set(weekdays) | plural
    month_alt = _alternation(set(months))
    en_months = _alternation({_fold(n) for names in data["en"]["months"] for n in names} & set(months))
    ordinal = r"(?:st|nd|rd|th|º|°|ª|er|eme|o)?"
    correction = tuple(sorted(merged("correction"), key=len, reverse=True))
    return _Lexicon(
        relative=relative,
        today=frozenset(today),
        weekdays=weekdays,
        plural_weekdays=frozenset(plural),
        guarded=frozenset(merged("guarded")),
        months=months,
        before_strong=frozenset(merged("before_strong")),
        after_strong=frozenset(merged("after_strong")),
        before_reference=frozenset(merged("before_reference")),
        after_reference=frozenset(merged("after_reference")),
        after_event=frozenset(merged("after_event")),
        closed=frozenset(merged("closed")),
        range_words=frozenset(merged("range_words")),
        correction=correction,
        morning_before=frozenset(merged("morning_before")),
        day_re=re.compile(rf"(?<![\w/])(?:{_alternation(day_words)})(?:'s|’s)?(?![\w])"),
        month_day_re=re.compile(
            rf"(?<![\w/])(?P<month>{en_months})\.?\s+(?P<day>\d{{1,2}}){ordinal}(?![\w/.,]\d)(?!\s*(?:{_NUM_UNITS})\b)"
            rf"(?:,?\s+(?P<year>20\d\d))?"
        ),
        day_month_re=re.compile(
            rf"(?<![\w/.,])(?P<day>\d{{1,2}}){ordinal}(?:\s*(?:de|of|di)\s+|\s*[-.]?\s*)(?P<month>{month_alt})(?![\w])\.?"
            rf"(?:,?\s*(?:de\s+)?(?P<year>20\d\d))?"
        ),
        units=frozenset(_fold(w) for w in load("intent", "cues")["numbers"]["units"]),
        correction_re=re.compile(rf"(?<![\w])(?:{_alternation(set(correction))})(?![\w])"),
    )


def delivery_date(text: str, received_at: dt.datetime, locale: str = "en-US") -> dt.date | None:
    """The delivery day the message names, or None when it names none (see the module docstring)."""
    if not text:
        return None
    lex = _lexicon()
    folded = _fold(text)  # all positions below are in the folded text
    base = received_at.date()
    month_first = locale.replace("_", "-").lower() in {"en-us", "en-ph", "en-ca"}
    mentions = _explicit_mentions(folded, base, month_first, lex)
    taken = [(m.start, m.end) for m in mentions]
    for m in lex.day_re.finditer(folded):
        if any(s <= m.start() < e for s, e in taken):
            continue
        found = _day_word_mention(folded, m.start(), m.end(), base, lex)
        if found is not None:
            mentions.append(found)
    mentions.sort(key=lambda m: m.start)
    mentions = _apply_corrections(folded, mentions, lex)
    if not mentions:
        return None
    best = max(mentions, key=lambda m: (m.strength, -m.start))
    return best.date


def _clause_before(text: str, start: int) -> str:
    """The text from the last clause boundary (sentence end, line break, emoji) up to `start`."""
    piece = text[max(0, start - 60) : start]
    cut = max(piece.rfind(ch) for ch in ".!?;\n")
    piece = piece[cut + 1 :]
    for i in range(len(piece) - 1, -1, -1):
        if unicodedata.category(piece[i]) == "So":
            return piece[i + 1 :]
    return piece


def _clause_after(text: str, end: int) -> str:
    piece = text[end : end + 40]
    m = _CLAUSE_END.search(piece)
    if m and not (m.group() == "." and _STOP_THEN_WORD.match(piece[m.start() :]) and m.start() == 0):
        piece = piece[: m.start()]
    for i, ch in enumerate(piece):
        if unicodedata.category(ch) == "So":
            return piece[:i]
    return piece


_WORD = re.compile(r"[\w'’/ºª°#&-]+")


def _ends_with(words: list[str], phrases: frozenset[str], max_words: int = 3) -> bool:
    return any(" ".join(words[-k:]) in phrases for k in range(1, min(max_words, len(words)) + 1))


def _starts_with(words: list[str], phrases: frozenset[str], max_words: int = 3) -> bool:
    return any(" ".join(words[:k]) in phrases for k in range(1, min(max_words, len(words)) + 1))


def _contains(words: list[str], phrases: frozenset[str]) -> bool:
    return any(
        " ".join(words[i:j]) in phrases for i in range(len(words)) for j in range(i + 1, len(words) + 1)
    )


def _day_word_mention(text: str, start: int, end: int, base: dt.date, lex: _Lexicon) -> _Mention | None:
    token = text[start:end]
    word = _POSSESSIVE.sub("", token)
    possessive = word != token
    before_text = _clause_before(text, start)
    before = _WORD.findall(before_text)
    after_text = _clause_after(text, end)
    after = _WORD.findall(after_text)
    header = not before_text.strip(" -*•\t>") and (
        after_text.lstrip().startswith(":") or not after_text.strip() or _starts_with(after, lex.after_strong)
    )
    strong_before = _ends_with(before, lex.before_strong, 2)
    strong_after = _starts_with(after, lex.after_strong) or after_text.lstrip().startswith(":")
    order_after = bool(after) and after[0] in {
        "order",
        "delivery",
        "drop",
        "encomenda",
        "pedido",
        "commande",
        "livraison",
        "ordine",
        "consegna",
        "entrega",
    }

    if not strong_before and _ends_with(before, lex.before_reference, 2):
        return None
    if _starts_with(after, lex.after_reference, 2):
        return None
    if _contains(before[-3:], lex.closed) or _contains(
        after[:3], lex.closed
    ):  # "closed sat", "el sábado no abrimos"
        return None
    if _ends_with(before, lex.range_words, 3) or (before and before[-1] == "w/c"):
        return None
    if word in lex.plural_weekdays and not (possessive or order_after):
        return None

    if word in lex.relative or word in lex.today:
        # "mañana" after "la" / "esta" / "por la" is the morning, not tomorrow.
        if word in {"manana", "mnn", "mnna"} and _ends_with(before, lex.morning_before, 2):
            return None
        offset = lex.relative.get(word, 0)
        date = base + dt.timedelta(days=offset)
        if word in lex.today:
            strength = _STRONG if strong_before else _WEAK
        else:
            strength = _STRONG if (strong_before or strong_after or header or possessive) else _MEDIUM
        return _Mention(start, end, date, strength)

    weekday = lex.weekdays.get(word)
    if weekday is None:
        weekday = lex.weekdays.get(word.rstrip("s"))
        if weekday is None:
            return None
    if word in lex.guarded:
        punct_after = (
            not after_text.strip()
            or after_text.lstrip()[:1] in {",", ")", ":", "?"}
            or (
                after_text.lstrip()[:1].isdigit()  # "for sat 1 cs tomatoes"
            )
        )
        # "for sat but only 1 keg", "replace on mon": a delivery word before and the clause going on with a
        # conjunction, or "on" before and nothing after.
        goes_on = bool(after) and after[0] in _CLAUSE_GOES_ON
        on_at_end = bool(before) and before[-1] == "on" and not after_text.strip(" .!")
        if not (header or strong_after or (strong_before and (punct_after or goes_on)) or order_after or on_at_end):
            return None
    days_ahead = (weekday - base.weekday() - 1) % 7 + 1
    date = base + dt.timedelta(days=days_ahead)
    if strong_before or strong_after or header or possessive or order_after:
        strength = _STRONG
    elif _starts_with(after, lex.after_event):
        strength = _WEAK
    else:
        strength = _MEDIUM
    return _Mention(start, end, date, strength)


def _explicit_mentions(text: str, base: dt.date, month_first: bool, lex: _Lexicon) -> list[_Mention]:
    """Dates written with a month or a day number: "10 December", "Dec 10th", "11/25", "Wednesday 4th"."""
    found: list[_Mention] = []

    def add(start: int, end: int, date: dt.date | None, strength: int) -> None:
        if date is None or any(s < end and start < e for s, e, *_ in ((m.start, m.end) for m in found)):
            return
        before = _WORD.findall(_clause_before(text, start))
        if _ends_with(before, lex.range_words, 3) or (before and before[-1] == "w/c"):
            return
        if _contains(before[-3:], lex.closed):
            return
        found.append(_Mention(start, end, date, strength))

    for m in lex.day_month_re.finditer(text):
        start = _weekday_prefix_start(text, m.start(), lex)
        add(
            start,
            m.end(),
            _resolve(base, lex.months[m.group("month")], int(m.group("day")), m.group("year")),
            _STRONG,
        )
    for m in lex.month_day_re.finditer(text):
        start = _weekday_prefix_start(text, m.start(), lex)
        add(
            start,
            m.end(),
            _resolve(base, lex.months[m.group("month")], int(m.group("day")), m.group("year")),
            _STRONG,
        )
    for m in _NUMERIC_DATE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        month, day = (a, b) if month_first else (b, a)
        if month > 12 and day <= 12:
            month, day = day, month
        start = _weekday_prefix_start(text, m.start(), lex)
        before = _WORD.findall(_clause_before(text, m.start()))
        after = _WORD.findall(_clause_after(text, m.end()))
        named = (
            start < m.start()
            or _ends_with(before, lex.before_strong, 2)
            or _starts_with(after, lex.after_strong)
        )
        if named:
            year = m.group(3)
            if year and len(year) == 2:
                year = f"20{year}"
            add(start, m.end(), _resolve(base, month, day, year), _STRONG)
    for m in _DAY_NUMBER.finditer(text):
        start = _weekday_prefix_start(text, m.start(), lex)
        has_weekday = start < m.start()
        prefix = (m.group("prefix") or "").strip()
        if prefix in {"le", "el", "il"} and not has_weekday:
            # "livraison le 24 au matin", "para el 24", "consegna il 24": a day of the month after a delivery
            # word; "le 24" alone may be anything.
            if not _ends_with(_WORD.findall(_clause_before(text, m.start())), lex.before_strong, 2):
                continue
        elif not (has_weekday or m.group("ord") or prefix in {"dia", "día"}):
            continue
        if m.group("prefix") == "the" and not m.group("ord") and not has_weekday:
            continue
        date = _next_day_of_month(base, int(m.group("day")))
        if has_weekday and not m.group("ord") and not m.group("prefix") and date is not None:
            # "jeudi 3 sacs", "sexta 12 romãs": a number after a weekday is a quantity unless it is that
            # weekday's own date ("giovedì 26" said on Tuesday the 24th) or stands alone ("Thursday 10,").
            weekday = lex.weekdays[_WORD.findall(text[start : m.start()])[0]]
            following = _WORD.findall(text[m.end() : m.end() + 20])
            nxt = following[0] if following else ""
            days_ahead = (weekday - base.weekday() - 1) % 7 + 1
            if (
                date != base + dt.timedelta(days=days_ahead)
                and nxt
                and (nxt in lex.units or nxt[0].isdigit() or date.weekday() != weekday)
            ):
                continue
        add(start, m.end(), date, _STRONG if has_weekday else _MEDIUM)
    return found


def _weekday_prefix_start(text: str, start: int, lex: _Lexicon) -> int:
    """Start of a weekday right before a date ("Thursday 10 December", "terça dia 17"), else `start`."""
    m = _WORD_BEFORE.search(text[max(0, start - 30) : start])
    if m and m.group(1) in lex.weekdays:
        return start - (len(text[max(0, start - 30) : start]) - m.start())
    return start


def _resolve(base: dt.date, month: int, day: int, year: str | None) -> dt.date | None:
    """The date, in the given year or the next one not in the past; None for impossible or past dates."""
    try:
        if year:
            date = dt.date(int(year), month, day)
            return date if date >= base else None
        date = dt.date(base.year, month, day)
    except ValueError:
        return None
    if date < base - dt.timedelta(days=60):
        try:
            date = dt.date(base.year + 1, month, day)
        except ValueError:
            return None
    return date if date >= base else None


def _next_day_of_month(base: dt.date, day: int) -> dt.date | None:
    """The first date on or after `base` whose day of month is `day`."""
    if not 1 <= day <= 31:
        return None
    year, month = base.year, base.month
    for _ in range(13):
        try:
            date = dt.date(year, month, day)
        except ValueError:
            date = None
        if date is not None and date >= base:
            return date
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _apply_corrections(text: str, mentions: list[_Mention], lex: _Lexicon) -> list[_Mention]:
    """Drop each mention that a later self-correction ("no wait", "digo", "anzi") overrides."""
    if len(mentions) < 2:
        return mentions
    last_start = mentions[-1].start
    corrections = [m.start() for m in lex.correction_re.finditer(text, 0, last_start)]
    return [
        mention
        for mention in mentions
        if mention.start == last_start
        or not (corrections and bisect.bisect_left(corrections, mention.end) < len(corrections))
    ]
