"""One order line read: quantity, unit, sizes that describe the product, and the product words.

"2cs roma", "Oignons jaunes 1 sac 25 kg", "30 x 8oz sirloin steaks", "lemons x2", "meia caixa de limão",
"dúzia e meia de ovos", "2 or 3 cs avocados", "Hake fillet 1-2kg - 4kg". The same reader runs over catalog
names ("TOMATO ROMA XL 25#", "LEMON 115CT"), so sizes on both sides meet as the same `spec` tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

from chat2order.parsing import grammar, nlp
from chat2order.parsing.units import (
    age_words,
    count_size_words,
    dimension,
    fold,
    table_word,
    to_base,
    unit_word,
)

_DIGITS = re.compile(r"^\d+(?:[.,]\d+)?$")
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
_WORD = re.compile(r"^[^\W\d_][^\W_]*(?:['’&-][^\W\d_]+)*\.?$")
_BETWEEN_NUMBER_AND_UNIT = frozenset(
    fold(w) for w in ("more", "extra", "mais", "plus", "de", "more", "x", "altri", "altre", "otro", "otra", "more")
)
_OF = frozenset(("of", "de", "di", "d", "d'", "du", "des", "da", "do", "del", "della", "dei", "delle", "degli"))
_DEFINITE = frozenset(("the", "la", "le", "les", "il", "lo", "gli", "el", "los", "las"))
_RANGE_WORDS = frozenset(("or", "ou", "o", "to", "a", "-", "–", "/", "oppure"))
_SPEC_PREFIX = frozenset(("no", "n", "nº", "no.", "n°", "nr", "#", "num"))


@dataclass
class Expr:
    """A quantity expression found in the line."""

    start: int
    end: int  # exclusive token index
    value: float | None
    unit: str | None = None  # canonical unit
    kind: str | None = None  # measure / package / count / sale_pack / None (bare number)
    sale_pack: str | None = None
    unsure: bool = False
    spec: bool = False  # describes the product ("8oz", "25#", "115ct"), not how many
    multiplier: bool = False  # "x2", "×2"
    range_hi: float | None = None
    numeric: bool = True
    unit_text: str | None = None
    article: bool = False  # the 1 of "a case", "a pezzi": weaker than any written number


@dataclass
class RawLine:
    text: str
    quantity: float | None
    unit: str | None
    kind: str | None
    sale_pack: str | None
    unsure: bool
    words: list[str]  # product words as written (filler removed)
    specs: list[str] = field(default_factory=list)  # size tokens ("m11.34", "c115", "5x6", "p15")
    numeric: bool = False  # the quantity was written in digits (not "a", "una", "half")
    unit_text: str | None = None  # the chef's unit word, singular, folded ("seau", "cx")
    notes: list[str] = field(default_factory=list)  # words in parentheses: only to break ties
    words_before: list[str] = field(default_factory=list)  # product-word candidates before the quantity
    words_after: list[str] = field(default_factory=list)  # and after it
    measure_hint: str | None = None  # the ordered measure as a size token ("25lb" may name the 25 lb pack)
    elided_unit: bool = False  # "3 kg de oreja y 2 de manitas": a number then "de", the unit left unsaid

    @property
    def product(self) -> str:
        return " ".join(self.words)


_ELIDING = frozenset(("pt", "fr", "it", "es"))
# Words that make a weight approximate: "d'environ 1,5 kg", "de unos 2 kg", "of about 3 kg".
_APPROX = frozenset(("environ", "about", "around", "approx", "approximately", "unos", "unas", "circa", "cerca",
                     "aprox", "aproximadamente", "roughly"))


def _singular(word: str) -> str:
    if word.endswith("aux"):
        return word[:-1]
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


_PEOPLE = frozenset(
    ("personas", "pessoas", "personnes", "persone", "people", "pax", "covers", "couverts", "coperti", "cubiertos",
     "guests", "convidados", "invites", "invitados", "ospiti", "pizze", "pizzas", "anos", "years", "ans", "anni")
)


@cache
def _all_weekdays() -> frozenset[str]:
    return frozenset(w for lang in ("en", "pt", "fr", "it", "es") for w in grammar.weekdays(lang))


def _not_a_quantity(low: list[str], i: int) -> bool:
    """Prices, times, dates and phone numbers: "$41.50", "9:40", "11/6", "7am", "020 7946"."""
    prev = low[i - 1] if i > 0 else ""
    nxt = low[i + 1] if i + 1 < len(low) else ""
    if prev in ("$", "€", "£", "r$", "eur", "usd", "gbp", ":", "invoice", "fatura", "facture", "fattura", "factura",
                "dia", "day", "jour", "giorno"):
        return True
    if nxt in (":", "am", "pm", "h", "h00", "hs", "hrs", "€", "eur", "euros", "euro", "$", "pounds?"):
        return True
    if len(low[i]) <= 2 and (nxt in ("nd", "rd", "th", "º", "ª", "er", "eme") or (nxt == "st" and prev == "the")):
        # "on the 23rd", "le 1er", "dia 3º": a day of the month or a rank, never how many ("24 St Marcellin"
        # is a cheese: "st" only after "the").
        return True
    if nxt in ("h",) or (nxt.startswith("h") and nxt[1:].isdigit()):
        return True
    calendar = grammar.calendar_words()
    if nxt in calendar or nxt in _PEOPLE or prev in calendar:
        return True
    if prev in _all_weekdays() and (not nxt or not nxt[:1].isalpha()) and len(low[i]) <= 2:
        # "para el jueves 24, pero ...", "Thursday 10.": the weekday's date, not an amount.
        return True
    if nxt in ("de", "of", "du") and i + 2 < len(low) and low[i + 2] in calendar:
        return True
    tok = low[i]
    return len(tok) >= 5 and tok.isdigit()


def _date_like(tok: str) -> bool:
    """"11/25", "4/12", "27/11": a slash pair that is no kitchen fraction (those are below one, over 2..8)."""
    m = _FRACTION.match(tok)
    return m is not None and (int(m.group(1)) >= int(m.group(2)) or int(m.group(2)) > 8)


def _after_amount(low: list[str], i: int) -> bool:
    """Token i follows a number or price ("3,50 a kg", "2 € o kg"): an article there is "per", not "one"."""
    prev = low[i - 1] if i > 0 else ""
    return bool(_DIGITS.match(prev)) or prev in ("$", "€", "£", "eur", "euro", "euros", "usd", "gbp")


@lru_cache(maxsize=65536)
def _num_token(tok: str, lang: str) -> float | None:
    if _DIGITS.match(tok):
        return float(tok.replace(",", "."))
    m = _FRACTION.match(tok)
    if m:
        b = float(m.group(2))
        return float(m.group(1)) / b if b else None
    fr = grammar.fractions().get(tok)
    if fr is not None:
        return fr
    return None


def spec_token(value: float, unit: str) -> str | None:
    """Size token for a measure: same string for "25#", "25 lb" and "25lb"."""
    base = to_base(value, unit)
    dim = dimension(unit)
    if base is None or dim is None:
        return None
    return f"{dim[0]}{base:.3g}"


def _spec_for(expr: Expr) -> str | None:
    if expr.value is None:
        return None
    if expr.range_hi is not None and expr.unit:
        lo = spec_token(expr.value, expr.unit)
        hi = spec_token(expr.range_hi, expr.unit)
        return f"r{lo}-{hi}" if lo and hi else None
    if expr.kind == "measure" and expr.unit:
        return spec_token(expr.value, expr.unit)
    return None


def read(text: str, lang: str, catalog: bool = False, count_sizes: frozenset[str] | None = None) -> RawLine:
    """Read one segment (one ordered item), or a catalog name (`catalog=True`: every number is a size).

    Cached (segmentation reads the same pieces again); each call gets its own copy to change. The
    catalog's count sizes only matter for a whole number of at least 20 in the text ("aguacate 60"), so
    any other text shares one cache entry with its read without them (the parser reads each segment
    both ways)."""
    if count_sizes is not None and not _may_be_count_size(text, lang):
        count_sizes = None
    cached = _read_cached(text, lang, catalog, count_sizes)
    # A shallow copy with fresh lists: dataclasses.replace re-runs __init__ through introspection and
    # cost more than a cache hit saved.
    out = object.__new__(RawLine)
    d = out.__dict__
    d.update(cached.__dict__)
    d["words"] = list(cached.words)
    d["specs"] = list(cached.specs)
    d["words_before"] = list(cached.words_before)
    d["words_after"] = list(cached.words_after)
    d["notes"] = list(cached.notes)
    return out


@lru_cache(maxsize=32768)
def _may_be_count_size(text: str, lang: str) -> bool:
    """Could a quantity read from `text` be a whole number >= 20 (a count size such as "lemons 115")?

    A quantity's value starts as one token's value (digits, a fraction, a number word) and later only
    gains a fraction or a half, so a text whose tokens are all below 19 never yields one."""
    numbers = grammar.number_words(lang)
    for tok in nlp.tokens(text, lang):
        low = fold(tok)
        value = _num_token(low, lang)
        if value is None:
            value = numbers.get(low)
        if value is not None and value >= 19:
            return True
    return False


@lru_cache(maxsize=32768)
def _read_cached(text: str, lang: str, catalog: bool, count_sizes: frozenset[str] | None) -> RawLine:
    return _read(text, lang, catalog, count_sizes)


@cache
def _and_half_by_first() -> tuple[dict[str, tuple[tuple[str, ...], ...]], tuple[str, ...] | None]:
    """The "and a half" phrases by first word, in their order; and the empty phrase if one exists."""
    by_first: dict[str, list[tuple[str, ...]]] = {}
    empty = None
    for phrase in grammar.and_half():
        if not phrase:
            empty = empty if empty is not None else phrase
            continue
        by_first.setdefault(phrase[0], []).append(phrase)
    return {k: tuple(v) for k, v in by_first.items()}, empty


def _and_half_at(low: list[str], j: int) -> tuple[str, ...] | None:
    """The first "and a half" phrase (in the lexicon's order) starting at token j, if any."""
    by_first, empty = _and_half_by_first()
    if empty is not None:
        # An empty phrase matches anywhere: keep the lexicon's order exactly.
        for phrase in grammar.and_half():
            if tuple(low[j : j + len(phrase)]) == phrase:
                return phrase
        return None
    if j >= len(low):
        return None
    for phrase in by_first.get(low[j], ()):
        if tuple(low[j : j + len(phrase)]) == phrase:
            return phrase
    return None


@cache
def _drop_words(lang: str) -> frozenset[str]:
    """Filler and self-correction words, never product words (one union per language, not per read)."""
    return grammar.filler(lang) | grammar.correction_words(lang)


def _read(text: str, lang: str, catalog: bool = False, count_sizes: frozenset[str] | None = None) -> RawLine:
    toks = nlp.tokens(text, lang)
    low = [fold(t) for t in toks]
    n = len(toks)
    numbers = grammar.number_words(lang)
    arts = grammar.articles(lang)
    csize = count_size_words()
    exprs: list[Expr] = []
    specs: list[str] = []
    used = [False] * n
    i = 0
    has_digit = any(_DIGITS.match(t) for t in low)
    # Words in parentheses are notes ("(ripe pls!!)", "(si lo tenéis)", "(60 personas)"), unless the only
    # quantity of the line is in them ("riso doppio (10 pacchi)").
    depth = 0
    paren_words: list[str] = []
    in_paren = [False] * n
    for k, t in enumerate(low):
        if t == "(":
            depth += 1
        in_paren[k] = depth > 0
        if t == ")" and depth:
            depth -= 1
    if not catalog and any(in_paren):
        outside_has_number = any(
            not in_paren[k] and (_DIGITS.match(low[k]) or low[k] in numbers) for k in range(n)
        )
        for k in range(n):
            if in_paren[k] and (outside_has_number or not (_DIGITS.match(low[k]) or unit_word(low[k]))):
                used[k] = True
                if _WORD.match(toks[k]) and low[k] not in grammar.filler(lang):
                    paren_words.append(toks[k])
    while i < n:
        tok = low[i]
        value = _num_token(tok, lang)
        start = i
        is_word_number = False
        from_article = False
        if value is not None and _DIGITS.match(tok) and _not_a_quantity(low, i):
            i += 1
            continue
        if value is not None and i + 1 < n and low[i + 1] in age_words():
            # "Comté 24 mois", "parmigiano 30 mesi": the ageing names the product, on both sides.
            specs.append(f"a{low[i].replace(',', '.')}")
            used[i] = used[i + 1] = True
            i += 2
            continue
        if value is not None and not catalog and _date_like(tok):
            # "For Wednesday 11/25", "invoice for 11/23": a date, not 0.44 of anything.
            used[i] = True
            i += 1
            continue
        if value is None and tok in numbers and has_digit and not (i + 1 < n and unit_word(low[i + 1])):
            # "half & half 1", "one pan": with a digit quantity in the line, a number word with no unit after
            # it belongs to the product.
            i += 1
            continue
        if value is None and tok in numbers:
            # "half a case", "a couple of", number words; later number words only before a unit.
            value = numbers[tok]
            is_word_number = True
        if value is None:
            # "a case of", "une douzaine", "uma caixa de".
            if tok in arts and i + 1 < n:
                hit = unit_word(low[i + 1])
                # "a case of", and "a keg of", "une plaquette de": the SKU's own sale pack.
                if hit and hit[0] in ("package", "count", "measure", "sale_pack") and (
                    hit[0] != "measure" or len(low[i + 1]) > 2 or (len(low[i + 1]) == 2 and not _after_amount(low, i))
                ):
                    value = 1.0
                    is_word_number = True
                    from_article = True
                elif low[i + 1] in ("couple", "paio", "par", "paire"):
                    value = 2.0
                    i += 1
                    tok = low[i]
                if value is None:
                    i += 1
                    continue
            elif tok in ("x", "×") and i + 1 < n and _DIGITS.match(low[i + 1]) and (i + 2 >= n or not unit_word(low[i + 2]) or unit_word(low[i + 2])[0] != "measure"):
                exprs.append(Expr(i, i + 2, float(low[i + 1].replace(",", ".")), multiplier=True))
                used[i] = used[i + 1] = True
                i += 2
                continue
            else:
                hit = table_word(tok)
                # A packaging word with no number: "box of burgers", "dúzia e meia de ovos".
                # "the case of tuna was dented", "la latta di tonno da 1,7?": a definite article names a
                # pack already spoken of, not one more.
                if hit and hit[0] in ("package", "count") and (i == 0 or (
                    low[i - 1] in grammar.filler(lang) and low[i - 1] not in _DEFINITE)) and (
                    i + 1 < n and (low[i + 1] in _OF or low[i + 1] in ("e", "et", "y", "and"))
                ):
                    value = 1.0
                    exprs.append(Expr(i, i + 1, value, hit[1], hit[0]))
                    used[i] = True
                    i += 1
                    j = i
                    phrase = _and_half_at(low, j)
                    if phrase is not None:
                        exprs[-1].value = 1.5
                        for k in range(j, j + len(phrase)):
                            used[k] = True
                        i = j + len(phrase)
                    continue
                i += 1
                continue
        if is_word_number and exprs and not (i + 1 < n and unit_word(low[i + 1])):
            # "1 cs half and half": a later number word with no unit is a product word.
            i += 1
            continue
        # Sizes inside a name: "No.2", "#10", "15%", "115ct", "48s", "00".
        prev = low[i - 1] if i > 0 else ""
        nxt = low[i + 1] if i + 1 < n else ""
        if not is_word_number and (prev in _SPEC_PREFIX or prev.endswith("n°") or tok.startswith("0") and len(tok) > 1 and "." not in tok and "," not in tok):
            specs.append(tok)
            used[i] = True
            i += 1
            continue
        if not is_word_number and nxt == "%":
            specs.append(f"p{tok}")
            used[i] = used[i + 1] = True
            i += 2
            continue
        if not is_word_number and nxt in csize:
            specs.append(f"c{int(value)}")
            used[i] = used[i + 1] = True
            i += 2
            continue
        j = i + 1
        # "1 1/2", "1 ½"
        if j < n and not is_word_number:
            frac = _FRACTION.match(low[j]) or (low[j] in grammar.fractions())
            if frac and value == int(value):
                extra = _num_token(low[j], lang)
                if extra is not None and extra < 1:
                    value += extra
                    j += 1
        # "half a case": skip the article after "half".
        if value == 0.5 and j < n and low[j] in arts:
            j += 1
        if tok in ("couple", "paio", "par", "paire") and j < n and low[j] in _OF:
            j += 1
        phrase = _and_half_at(low, j)
        if phrase is not None:
            value += 0.5
            j += len(phrase)
        # "5x6" (a size), "2x5kg" / "2 x 5kg" / "30 x 8oz" (count of a packed size)
        if j < n and low[j] in ("x", "×") and j + 1 < n and _DIGITS.match(low[j + 1]):
            after = unit_word(low[j + 2]) if j + 2 < n else None
            if after and after[0] == "measure":
                spec_val = float(low[j + 1].replace(",", "."))
                st = spec_token(spec_val, after[1])
                if st:
                    specs.append(st)
                exprs.append(Expr(start, j + 3, value))
                for k in range(start, j + 3):
                    used[k] = True
                i = j + 3
                continue
            if not is_word_number:
                specs.append(f"{int(value)}x{low[j + 1]}")
                for k in range(start, j + 2):
                    used[k] = True
                i = j + 2
                continue
        if j < n and low[j] in ("x", "×") and (j + 1 >= n or not _DIGITS.match(low[j + 1])):
            # "30 x sirloin", "2x cases": the x only marks the count.
            used[j] = True
            j += 1
        # Ranges and alternatives: "2 or 3 cs", "3-4 fish", "1-2kg".
        range_hi = None
        unsure = False
        if j + 1 < n and low[j] in _RANGE_WORDS and (
            _num_token(low[j + 1], lang) is not None or low[j + 1] in numbers
        ):
            hi = _num_token(low[j + 1], lang)
            if hi is None:
                hi = numbers[low[j + 1]]
            if hi > value:
                range_hi = hi
                unsure = True
                j += 2
        elif j < n and toks[j].startswith("-") and len(toks[j]) > 1 and _DIGITS.match(toks[j][1:]):
            range_hi = float(toks[j][1:].replace(",", "."))
            unsure = True
            j += 1
        # Unit, possibly after "more"/"extra": "1 more case", "2 cs", "5kg", "6 bottes".
        unit = kind = sale_pack = unit_text = None
        k = j
        while k < n and low[k] in _BETWEEN_NUMBER_AND_UNIT and k - j < 2:
            k += 1
        if k < n:
            hit = unit_word(low[k])
            if hit is None and k + 1 < n and low[k] == "fl" and low[k + 1] == "oz":
                hit = ("measure", "fl_oz")
                k += 1
            if hit:
                kind, canon = hit
                if kind == "sale_pack":
                    sale_pack = canon
                    unit = None
                else:
                    unit = canon
                unit_text = low[k].rstrip(".")
                j = k + 1
                if j < n and low[j] == ".":
                    j += 1
        if j < n and low[j] == "?":
            unsure = True
            j += 1
        # "the 10# bag", "2 5kg bags": a measure right before a packaging word is the pack size.
        if kind == "measure" and j < n and (table_word(low[j]) or ("", ""))[0] == "package":
            st = spec_token(value, unit) if unit else None
            if st:
                specs.append(st)
            pkg = unit_word(low[j])
            count = 1.0
            if exprs and exprs[-1].kind is None and exprs[-1].end == start:
                count = exprs[-1].value or 1.0
                exprs.pop()
            exprs.append(Expr(start, j + 1, count, pkg[1] if pkg else None, "package", numeric=not is_word_number))
            for k in range(start, j + 1):
                used[k] = True
            i = j + 1
            continue
        expr = Expr(
            start, j, value, unit, kind, sale_pack, unsure, range_hi=range_hi, numeric=not is_word_number,
            unit_text=_singular(unit_text) if unit_text else None, article=from_article,
        )
        exprs.append(expr)
        for k in range(start, j):
            used[k] = True
        i = j

    # Which expression says how much; the others describe the product.
    corr = grammar.phrases("correction", lang)
    if len(exprs) > 1 and corr.pattern is not None:
        joined = " ".join(low)
        m = None
        for m in corr.finditer(joined):
            pass
        if m is not None:
            cut = len(joined[: m.start()].split())
            later = [e for e in exprs if e.start >= cut and not e.multiplier]
            if later:
                for e in exprs:
                    if e not in later:
                        e.spec = True
                        if e.kind == "measure":
                            pass
    # "lemon 165", "avocado 60 x2": a bare number right after a product word, with another quantity in
    # the line, is a count size.
    bare = [e for e in exprs if e.kind is None and not e.multiplier and not e.spec and e.range_hi is None]
    if len([e for e in exprs if not e.spec]) > 1:
        for e in bare:
            after_word = e.start > 0 and _WORD.match(toks[e.start - 1]) and low[e.start - 1] not in grammar.filler(lang)
            if after_word and e.value is not None and e.value >= 10 and e.value == int(e.value):
                e.spec = True
                specs.append(f"c{int(e.value)}")
    if count_sizes is not None:
        # "aguacate 60", "lemons 115" alone: a number that is one of this catalog's count sizes, right
        # after the product, names the size, not how many.
        for e in exprs:
            if (
                e.kind is None and not e.multiplier and not e.spec and e.value is not None and e.value >= 20
                and e.value == int(e.value) and f"c{int(e.value)}" in count_sizes and e.start > 0
                and _WORD.match(toks[e.start - 1]) and low[e.start - 1] not in grammar.filler(lang)
            ):
                e.spec = True
                specs.append(f"c{int(e.value)}")
    for e in exprs:
        # "de 2 kg environ", "d'environ 1,5 kg": the hedge belongs to the weight, it is no product word.
        if e.kind == "measure":
            for k in (e.start - 1, e.end):
                if 0 <= k < n and low[k] in _APPROX:
                    used[k] = True
    if not catalog and n > 2 and low[0] in arts and not unit_word(low[1]) and not any(e.kind != "measure" for e in exprs):
        # "un bar de ligne d'environ 1,5 kg", "a turbot of about 3 kg": one fish, of about that weight; the
        # weight is its size, not how much.
        approx = [e for e in exprs if e.kind == "measure" and e.start > 0 and low[e.start - 1] in _APPROX]
        if len(approx) == 1 and len(exprs) == 1:
            approx[0].spec = True
            exprs.insert(0, Expr(0, 1, 1.0, numeric=False, article=True))
            used[0] = True
    live = [e for e in exprs if not e.spec]
    primary: Expr | None = None
    if live:
        counted = [e for e in live if e.kind != "measure" and e.range_hi is None and not e.multiplier]
        if any(e.range_hi is not None for e in live):
            # "2 o 3 kg di grana a pezzi": the written range says how much, the article only how it is cut.
            counted = [e for e in counted if not e.article]
        mult = [e for e in live if e.multiplier]
        sure_measures = [e for e in live if e.kind == "measure" and e.range_hi is None]
        with_unit = [e for e in counted if e.kind is not None]
        if mult and not with_unit:
            primary = mult[0]
        elif counted:
            pool = with_unit or counted
            primary = pool[-1] if any(e.spec for e in exprs) else pool[0]
        elif sure_measures:
            primary = sure_measures[0] if not any(e.spec for e in exprs) else sure_measures[-1]
        elif mult:
            primary = mult[0]
        else:
            primary = live[0]
        if primary.multiplier is False and mult and primary.kind is None and primary is not mult[0]:
            pass
        for e in exprs:
            if e is primary:
                continue
            st = _spec_for(e)
            if st and (e.kind == "measure"):
                specs.append(st)
    if primary is not None and not catalog and primary.kind is None and not primary.multiplier:
        # "10 sourdough loaves", "2 parsley bunches": the packaging word after the product is the unit.
        last = max((k for k in range(primary.end, n) if not used[k] and _WORD.match(toks[k])), default=None)
        hit = table_word(low[last]) if last is not None else None  # only a packaging word counts here
        product_left = last is not None and any(
            not used[k] and _WORD.match(toks[k]) and low[k] not in grammar.filler(lang) for k in range(primary.end, last)
        )
        # "20 fior di latte": a packaging word after "di"/"de"/"of" ends the product's name, it is no unit.
        of_before = last is not None and last > 0 and low[last - 1] in _OF
        if hit and hit[0] == "package" and product_left and not of_before:
            primary.unit, primary.kind, primary.unit_text = hit[1], hit[0], _singular(low[last].rstrip("."))
            used[last] = True
    elif primary is not None and not catalog and primary.kind in ("package", "count", "sale_pack"):
        # "a case of guinness cans", "1 cx de cerveja em lata": the pack word after the product says which
        # form of it (cans, not the keg); a note that may pick among equal readings, not a product word.
        last = max((k for k in range(primary.end, n) if not used[k] and _WORD.match(toks[k])), default=None)
        hit = table_word(low[last]) if last is not None else None
        product_left = last is not None and any(
            not used[k] and _WORD.match(toks[k]) and low[k] not in grammar.filler(lang) for k in range(primary.end, last)
        )
        if hit and hit[0] == "package" and product_left and low[last - 1] not in _OF:
            used[last] = True
            paren_words.append(toks[last])
    measure_hint = _spec_for(primary) if primary is not None and primary.kind == "measure" else None
    # "2 de manitas", "3 di pecorino": in the Romance languages a count is "2 manitas"; a bare number
    # followed by "de"/"di" leaves the unit unsaid (the sale unit, or the one of the line before), it is
    # no count of pieces.
    elided = bool(
        primary is not None and not catalog and primary.kind is None and not primary.multiplier
        and lang in _ELIDING and primary.end < n and low[primary.end] in ("de", "di")
    )
    if catalog and primary is not None:
        st = _spec_for(primary)
        if st:
            specs.append(st)

    # "Davide x giovedi aggiungi 5 kg zucca": with words after the quantity, the words before it are
    # greetings and verbs, not the product.
    fill = _drop_words(lang)
    before: list[str] = []
    after_words: list[str] = []
    if primary is not None and not catalog:
        after = [k for k in range(primary.end, n) if not used[k] and _WORD.match(toks[k]) and low[k] not in fill]
        if after:
            before = [toks[k].rstrip(".") for k in range(primary.start) if not used[k] and _WORD.match(toks[k]) and low[k] not in fill and low[k] not in ("x", "×")]
            after_words = [toks[k].rstrip(".") for k in after if low[k] not in ("x", "×")]
            for k in range(primary.start):
                used[k] = True
    words: list[str] = []
    for idx, tok in enumerate(toks):
        if used[idx]:
            continue
        lw = low[idx]
        if not _WORD.match(tok) or lw in fill:
            continue
        if lw in ("x", "×"):
            continue
        words.append(tok.rstrip("."))
    quantity = primary.value if primary else None
    unsure = bool(primary and (primary.unsure or primary.range_hi is not None))
    return RawLine(
        text=text.strip(),
        quantity=None if unsure else quantity,
        unit=primary.unit if primary else None,
        kind=primary.kind if primary else None,
        sale_pack=primary.sale_pack if primary else None,
        unsure=unsure,
        words=words,
        specs=specs,
        measure_hint=measure_hint,
        numeric=bool(primary and primary.numeric),
        unit_text=primary.unit_text if primary else None,
        notes=paren_words,
        words_before=before,
        words_after=after_words,
        elided_unit=elided,
    )
