"""A chef's reply to a confirmation: confirm, cancel, answer a question, or edit lines. Pure, no I/O.

`parse_reply(text, lines, context)` reads the reply against the order's lines (`ReplyLine`, built by the
ordering service from the draft) and returns a `Reply`: its kind and the edits to apply. The reply is split
into clauses (lines, commas, semicolons); each clause is one of

- a confirmation ("yes", "ok", "👍", "sim", "oui", "sì", "sí", "dale", "vale", with politeness around it);
- a cancellation: "cancel" / "cancela" / "annule" / "annulla" alone or with "the order" cancels everything,
  with a product word it removes that line ("cancel lemons");
- an answer to a question: an option number ("1", "2 and 3") or a word of one option's product ("roma");
- a removal ("remove the lemons", "sem limão", "sans les cèpes");
- an addition ("add 2 cs limes"): the rest goes through the order parser, `parsing.parse`;
- a change of quantity ("make the onions 10kg", "onions to 10 kg", "mets les oignons à 10 kg"): the
  quantity and unit come from the order parser too, the line from the product words. Without a verb
  ("onions 10kg") only a one-clause reply is a change; a list of such lines reads as a new order;
- a change of delivery day ("make it Friday", "plutôt vendredi", "mejor el jueves"): a clause that names a
  day (read by `parsing.dates`, as in orders) and no product of the order nor of the catalog; the ordering
  service then checks the day against the supplier's schedule.

The words are data (`models/replies/words.toml`); matching a clause to a line uses rapidfuzz on accent-
free words of the chef's own text and the supplier's product name.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Literal

from rapidfuzz import fuzz

from chat2order.parsing._langdata import load
from chat2order.parsing.model import ParseContext, ParsedLine

ReplyKind = Literal["confirm", "cancel", "edit", "unknown"]
EditAction = Literal["choose", "set", "remove", "add", "date"]

_MATCH_THRESHOLD = 75.0
# Clause breaks: new lines, semicolons, commas that are not a decimal comma ("1,5 kg"), and "and 3".
_SPLIT_RE = re.compile(r"[\n;]+|(?<!\d),|,(?!\d)|\s+(?:and|e|et|y|ed)\s+(?=\d)")
_TOKEN_RE = re.compile(r"[\w'’#½¼¾.-]+|[^\w\s]", re.UNICODE)
_NUMBER_RE = re.compile(r"^\d+$")
_QTY_RE = re.compile(r"(\d+(?:[.,]\d+)?|½|¼|¾)\s*([a-z#]+)?", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyLine:
    """One line of the order as the reply parser sees it."""

    position: int
    text: str  # the chef's words for the line
    name: str = ""  # the supplier's product name ('' when not carried or undecided)
    sku: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    options: tuple[tuple[int, str, str], ...] = ()  # (number shown, sku, product name) of an open question


@dataclass(frozen=True)
class Edit:
    action: EditAction
    position: int | None = None  # the line edited (None for "add")
    sku: str | None = None  # "choose"
    quantity: Decimal | None = None  # "set"
    unit: str | None = None  # "set"
    lines: tuple[ParsedLine, ...] = ()  # "add"
    delivery_date: dt.date | None = None  # "date"
    words: str = ""  # the clause it came from, for the change notice
    implicit: bool = False  # "onions 10kg": a quantity change said without a verb


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    edits: tuple[Edit, ...] = ()
    confirm: bool = False  # the reply also says yes ("1, yes")
    not_understood: tuple[str, ...] = field(default_factory=tuple)  # clauses nothing could be made of


def fold(text: str) -> str:
    """Lower case without accents ("Sì" -> "si", "Annulé" -> "annule"); emoji untouched."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@cache
def _words(section: str) -> frozenset[str]:
    data = load("replies", "words")[section]
    return frozenset(fold(word) for words in data.values() for word in words)


def _tokens(clause: str) -> list[str]:
    return [tok.strip(".") or tok for tok in _TOKEN_RE.findall(fold(clause))]


def _is_confirmation(tokens: list[str]) -> bool:
    confirm, filler = _words("confirm"), _words("filler")
    meaningful = [tok for tok in tokens if tok not in filler and tok not in {"!", "?", ".", ":)", ")"}]
    if not meaningful:
        return False
    return all(tok in confirm or _only_emoji(tok) for tok in meaningful)


def _only_emoji(token: str) -> bool:
    return bool(token) and all(unicodedata.category(ch) in ("So", "Sk", "Mn", "Cf") for ch in token)


def _stem(word: str) -> str:
    # Plurals of the five languages end in s (onions, cebolas, oignons, limones) or an Italian vowel
    # (cipolle/cipolla): compare without them, as the catalog matcher does with lemmas.
    if len(word) > 4 and word.endswith("es"):
        return word[:-2]
    if len(word) > 3 and word[-1] in "si":
        return word[:-1]
    if len(word) > 3 and word[-1] in "eao":
        return word[:-1]
    return word


def _content(tokens: Sequence[str]) -> str:
    skip = _words("link") | _words("filler")
    return " ".join(_stem(tok) for tok in tokens if tok not in skip and not _QTY_RE.fullmatch(tok) and tok.isalpha())


def _line_score(query: str, line: ReplyLine) -> float:
    if not query:
        return 0.0
    target = " ".join(_stem(tok) for tok in _tokens(f"{line.text} {line.name}") if tok.isalpha())
    return max(fuzz.token_set_ratio(query, target), fuzz.partial_ratio(query, target) if len(query) > 3 else 0)


def _best_line(query: str, lines: Sequence[ReplyLine]) -> ReplyLine | None:
    scored = sorted(((_line_score(query, line), line.position, line) for line in lines), key=lambda s: (-s[0], s[1]))
    if not scored or scored[0][0] < _MATCH_THRESHOLD:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # two lines fit equally: do not guess which one the chef meant
    return scored[0][2]


def _option_by_words(query: str, lines: Sequence[ReplyLine]) -> tuple[ReplyLine, str] | None:
    """A product word that picks exactly one option of the open questions ("roma")."""
    if not query:
        return None
    hits: list[tuple[float, ReplyLine, str]] = []
    for line in lines:
        for _, sku, name in line.options:
            target = " ".join(_stem(tok) for tok in _tokens(name) if tok.isalpha())
            score = fuzz.token_set_ratio(query, target)
            if all(word in target.split() for word in query.split()):
                score = max(score, 100.0)
            hits.append((score, line, sku))
    hits.sort(key=lambda h: -h[0])
    if not hits or hits[0][0] < 90.0:
        return None
    if len(hits) > 1 and hits[1][0] >= hits[0][0] and hits[1][1] is hits[0][1]:
        return None
    return hits[0][1], hits[0][2]


def _quantity(clause: str, context: ParseContext) -> tuple[Decimal, str | None] | None:
    """The quantity and unit of a clause, read by the order parser (fallback: the first number)."""
    try:
        from chat2order.parsing import parse

        parsed = parse(clause, context)
    except Exception:  # noqa: BLE001 - the parser never should, but a reply must still be answered
        parsed = None
    if parsed is not None:
        for line in parsed.lines:
            if line.quantity is not None:
                return line.quantity, line.unit
    match = _QTY_RE.search(fold(clause))
    if not match:
        return None
    raw = {"½": "0.5", "¼": "0.25", "¾": "0.75"}.get(match.group(1), match.group(1).replace(",", "."))
    try:
        return Decimal(raw), _unit_word(match.group(2) or "")
    except InvalidOperation:
        return None


@cache
def _unit_words() -> dict[str, str]:
    words = {"kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "g": "g", "gr": "g", "lb": "lb", "lbs": "lb",
             "#": "lb", "oz": "oz", "l": "l", "lt": "l", "ml": "ml", "gal": "gal", "qt": "qt"}
    for unit, spellings in load("lexicon", "packaging").get("packaging", {}).items():
        for spelling in spellings:
            words.setdefault(fold(spelling), unit)
    return words


def _unit_word(word: str) -> str | None:
    return _unit_words().get(fold(word))


def _add(rest: str, context: ParseContext, words: str) -> Edit | None:
    from chat2order.parsing import parse

    parsed = parse(rest, context)
    lines = tuple(line for line in parsed.lines if line.quantity is not None or line.sku or line.not_carried)
    return Edit("add", lines=lines, words=words) if lines else None


def _clause(clause: str, lines: Sequence[ReplyLine], context: ParseContext) -> tuple[str, list[Edit]]:
    """('confirm' | 'cancel' | 'edit' | 'unknown', edits) for one clause."""
    tokens = _tokens(clause)
    if not tokens:
        return "skip", []
    if _is_confirmation(tokens):
        return "confirm", []
    if all(tok in _words("filler") or not tok.strip("!?.:)(") for tok in tokens):
        return "skip", []  # "thanks", "obrigado" after a yes
    words = clause.strip()
    head, rest_tokens = tokens[0], tokens[1:]
    raw_rest = _after_first_word(clause)

    numbers = [tok for tok in tokens if _NUMBER_RE.match(tok)]
    option_numbers = {str(n): (line, sku) for line in lines for n, sku, _ in line.options}
    if numbers and option_numbers and all(tok in option_numbers or tok in _words("filler") or tok in
                                          _words("link") or tok in {"and", "e", "et", "y", "&"} for tok in tokens):
        edits = [Edit("choose", option_numbers[n][0].position, sku=option_numbers[n][1], words=words)
                 for n in numbers if n in option_numbers]
        if edits and len(edits) == len(numbers):
            return "edit", edits

    if head in _words("cancel"):
        if all(tok in _words("whole_order") for tok in rest_tokens):
            return "cancel", []
        line = _best_line(_content(rest_tokens), lines)
        return ("edit", [Edit("remove", line.position, words=words)]) if line else ("unknown", [])
    if head in _words("remove"):
        line = _best_line(_content(rest_tokens), lines)
        return ("edit", [Edit("remove", line.position, words=words)]) if line else ("unknown", [])
    if head in _words("add") and rest_tokens:
        edit = _add(raw_rest, context, words)
        return ("edit", [edit]) if edit else ("unknown", [])

    is_change = head in _words("change")
    query_tokens = rest_tokens if is_change else tokens
    day = _delivery_day(clause, context)
    if day is not None:  # "onions 10kg for friday": the day's words are not product words
        query_tokens = [tok for tok in query_tokens if _delivery_day(tok, context) is None]
    query = _content(query_tokens)
    quantity = _quantity(raw_rest if is_change else clause, context)
    if quantity is not None and query:
        line = _best_line(query, lines)
        if line is not None:
            edits = [Edit("set", line.position, quantity=quantity[0], unit=quantity[1], words=words,
                          implicit=not is_change and day is None)]
            if day is not None:
                edits.append(Edit("date", delivery_date=day, words=words))
            return "edit", edits
    if day is not None and not _names_a_product(clause, query, lines, context):
        return "edit", [Edit("date", delivery_date=day, words=words)]
    if not is_change and quantity is None:
        picked = _option_by_words(query, lines)
        if picked is not None:
            return "edit", [Edit("choose", picked[0].position, sku=picked[1], words=words)]
    return "unknown", []


def _delivery_day(clause: str, context: ParseContext) -> dt.date | None:
    """The day a clause names, unless it asks a question ("do you deliver on Sunday?")."""
    if context.received_at is None or clause.rstrip().endswith("?"):
        return None
    from chat2order.parsing.dates import delivery_date

    return delivery_date(clause, context.received_at, context.locale)


def _names_a_product(clause: str, query: str, lines: Sequence[ReplyLine], context: ParseContext) -> bool:
    """True when the clause is about an item (a line of the order, or one of the catalog) and not only a day."""
    if query and _best_line(query, lines) is not None:
        return True
    from chat2order.parsing import parse

    return any(line.sku for line in parse(clause, context).lines)


def _after_first_word(clause: str) -> str:
    parts = clause.strip().split(None, 1)
    return parts[1] if len(parts) > 1 else ""


def _clauses(text: str) -> list[str]:
    """Clauses of a reply; what follows an "add" clause joins it (a list of items to add)."""
    pieces = [piece.strip() for piece in _SPLIT_RE.split(text) if piece and piece.strip()]
    merged: list[str] = []
    adding = False
    for piece in pieces:
        tokens = _tokens(piece)
        starts_verb = bool(tokens) and any(
            tokens[0] in _words(section) for section in ("add", "cancel", "remove", "change", "confirm")
        )
        if adding and not starts_verb and merged:
            merged[-1] = f"{merged[-1]}, {piece}"
            continue
        merged.append(piece)
        adding = bool(tokens) and tokens[0] in _words("add")
    return merged


def parse_reply(text: str, lines: Sequence[ReplyLine], context: ParseContext) -> Reply:
    """Read a chef's reply to the confirmation of an order with `lines` (see module docstring)."""
    edits: list[Edit] = []
    confirm = cancel = False
    unknown: list[str] = []
    clauses = _clauses(text or "")
    for clause in clauses:
        kind, found = _clause(clause, lines, context)
        if any(edit.action == "date" for edit in found) and any(tok in _words("confirm") for tok in _tokens(clause)):
            confirm = True  # "ok for friday"
        if kind == "confirm":
            confirm = True
        elif kind == "cancel":
            cancel = True
        elif kind == "edit":
            edits.extend(found)
        elif kind == "unknown":
            unknown.append(clause)
    if len(clauses) > 1 and any(edit.implicit for edit in edits):
        # Several lines of "product quantity" read like a new order that happens to repeat products of the
        # waiting one, not like corrections: only a verb ("make", "change"...) makes them edits then.
        return Reply("unknown", not_understood=tuple(clauses))
    if cancel and not edits:
        return Reply("cancel", not_understood=tuple(unknown))
    if edits:
        return Reply("edit", tuple(edits), confirm=confirm, not_understood=tuple(unknown))
    if confirm and not unknown:
        return Reply("confirm", confirm=True)
    return Reply("unknown", confirm=confirm, not_understood=tuple(unknown))
