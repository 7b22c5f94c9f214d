"""Split a cleaned message into item segments: lines, bullets, numbered lists, commas and semicolons,
"and / e / et / y" between items, and run-on lines ("2cs roma 5kg onions 1 box lemons").

A split is kept only when both sides read as items (product words, and a quantity on the new side), so
"half and half", "1,5 kg" and "salt and pepper" stay whole.
"""

from __future__ import annotations

import re
from itertools import pairwise

from chat2order.parsing import grammar, lines, nlp
from chat2order.parsing.units import fold, unit_word

_BULLET = re.compile(r"^\s*(?:[-–—•*·▪►>✓✔]+|\(?\d{1,2}[.)](?=\s+\S*\d)|\d{1,2}[)])\s*")
# Hard item boundaries. The lookahead is implied by the alternatives (a match starts with a space or with
# the first character of one of them) and lets the engine skip every other position with one class test.
_HARD = re.compile(r"(?=[\s;|,.:!…?])\s*(?:;|\s\+\s|\s\+(?=\d)|\|| / (?=\d)|(?<=[^\d\s]),|,(?=\s*[^\d\s])|(?<=\D),(?=\d)|,(?=\s)|(?<!\b[Nn]o)(?<!approx)(?<!\b[Cc]at)\.\s+|:\s+|!\s+|…\s*|\?\s+|\s[-–]\s(?=\d+\s*[^\W\d_]+\s+[^\W\d_]))\s*")
_PARENS = re.compile(r"\([^()]*\)")
_UNIT_STOP = re.compile(r"(?<=\d)(\s*)([^\W\d_]{1,6})\.\s+(?=[a-zà-ÿ])")
_CONJ = re.compile(r"\s+(?:and|&|n|e|et|y|i|plus|also|aussi|anche|tambien|tambem|tb|ed|but)\s+", re.IGNORECASE)


# Compiled once: these run on every token of every line.
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_DIGIT_FIRST = re.compile(r"^\d")
_LETTER_FIRST = re.compile(r"^[^\W\d_]")

# A number after these never starts an item: "1 turbot de 2 kg environ", "3 cajas de 5 kg", "a fish of about 3 kg".
_NO_CUT_AFTER = frozenset((
    "x", "×", "-", "/", "or", "ou", "o", "a", "no", "n", "#", "de", "d'", "di", "of", "du", "about", "around",
    "approx", "environ", "unos", "unas", "circa", "cerca", "aprox",
))

_HALF_WORDS = frozenset(("half", "meia", "meio", "demi", "demie", "mezzo", "mezza", "medio", "media"))


def _is_item(raw: lines.RawLine, need_quantity: bool) -> bool:
    if not raw.words:
        return False
    return not need_quantity or raw.quantity is not None or raw.unsure or raw.unit is not None


def _asks_usual(text: str, lang: str) -> bool:
    """The text names the standing order ("usual for Wednesday please", "comme d'hab pour jeudi")."""
    return grammar.phrases("usual", lang).search(fold(text)) is not None


def _split_conj(part: str, lang: str) -> list[str]:
    raw_pieces = _CONJ.split(part)
    if len(raw_pieces) == 1:
        return [part]
    # "dúzia e meia de alfaces", "one and a half kg": the half belongs to the quantity before it.
    seps = _CONJ.findall(part)
    pieces = [raw_pieces[0]]
    for sep, piece in zip(seps, raw_pieces[1:]):
        words = fold(piece).split()[:2]
        prev_last = fold(pieces[-1]).split()[-1:] if pieces[-1].strip() else []
        half = bool(words) and (words[0] in _HALF_WORDS or words[:2] == ["a", "half"])
        if half and prev_last and (unit_word(prev_last[0]) or _DIGIT_FIRST.match(prev_last[0])):
            pieces[-1] = f"{pieces[-1]}{sep}{piece}"
        else:
            pieces.append(piece)
    if len(pieces) == 1:
        return pieces
    out = [pieces[0]]
    for piece in pieces[1:]:
        right = lines.read(piece, lang)
        left = lines.read(out[-1], lang)
        without = grammar.phrases("without", lang)
        edit = without.search(fold(piece))
        left_edit = without.search(fold(out[-1]))
        first = fold(piece).split()[:2]
        if first and (first[0] in _HALF_WORDS or first[:2] == ["a", "half"]) and not (
            len(first) > 1 and unit_word(first[1])
        ):
            # "duzia e meia", "one and a half": not two items.
            ok = False
        else:
            # Both sides must be items with their own quantity: "boned & rolled 5kg" is one item.
            # "usual for Wednesday please plus 6 bottles of gin": a repeated order on the left is an item too.
            ok = (_is_item(right, True) or (edit is not None and edit.start() == 0)) and (
                _is_item(left, True) or (left_edit is not None and _is_item(left, False))
                or (left.quantity is None and _asks_usual(out[-1], lang))
            )
        if ok:
            out.append(piece)
        else:
            joiner = " and " if lang == "en" else " "
            m = _CONJ.search(part)
            out[-1] = f"{out[-1]}{(m.group(0) if m else joiner)}{piece}"
    return out


def _split_product_first(toks: list[str], lang: str) -> list[str]:
    """'eggs 2 potatoes 2 tomato 1 iceberg 1': each item is words then its number."""
    if len(toks) < 5 or not _NUMBER.match(toks[-1]) or _DIGIT_FIRST.match(toks[0]):
        return []
    if grammar.phrases("instead", lang).search(fold(" ".join(toks[-5:]))):
        # "50 frangos em vez de 40": the last number is the old quantity, not an item's.
        return []
    cuts = [0]
    for p in range(1, len(toks) - 1):
        if not _NUMBER.match(toks[p]):
            continue
        nxt = fold(toks[p + 1])
        if unit_word(nxt) or not _LETTER_FIRST.match(nxt) or fold(toks[p - 1]) in ("x", "×"):
            continue
        cuts.append(p + 1)
    if len(cuts) < 2:
        return []
    cuts.append(len(toks))
    pieces = [" ".join(toks[a:b]) for a, b in pairwise(cuts)]
    if all(lines.read(piece, lang).quantity is not None and lines.read(piece, lang).words for piece in pieces):
        return pieces
    return []


# No order item runs longer than this many tokens; bounds the work per cut on absurdly long lines.
MAX_ITEM_TOKENS = 40


def _split_runon(part: str, lang: str) -> list[str]:
    """'2cs roma 5kg onions 1 box lemons' -> three items, when each chunk starts with its quantity."""
    toks = nlp.tokens(part, lang)
    product_first = _split_product_first(toks, lang)
    if product_first:
        return product_first
    first = next((k for k, t in enumerate(toks) if _DIGIT_FIRST.match(t)), None)
    if len(toks) < 4 or first is None or first > 3:
        return [part]
    numbers = [p for p in range(first + 2, len(toks)) if _NUMBER.match(toks[p])]
    # Each candidate cut reads only its neighbourhood (the chunk since the last cut, the chunk up to the next
    # number), so a long run-on line costs linear, not quadratic, time.
    following = dict(pairwise(numbers + [len(toks)]))
    depth = [0]
    for t in toks:
        depth.append(depth[-1] + (t == "(") - (t == ")"))
    cuts = [0]
    for p in numbers:
        if depth[p] > 0:
            continue  # inside a note: "(cerca de 3 kg cada)"
        prev = fold(toks[p - 1])
        if prev in _NO_CUT_AFTER or _DIGIT_FIRST.match(prev):
            continue
        left = lines.read(" ".join(toks[max(cuts[-1], p - MAX_ITEM_TOKENS) : p]), lang)
        right = lines.read(" ".join(toks[p : max(following[p], p + 2)]), lang)
        if left.words and right.words and left.quantity is not None and right.quantity is not None:
            # The new chunk must not merely be a size of the left item ("1 sac 25 kg").
            cuts.append(p)
    if len(cuts) == 1:
        return [part]
    cuts.append(len(toks))
    return [" ".join(toks[a:b]) for a, b in pairwise(cuts)]


def segments(text: str, lang: str) -> list[str]:
    """Item segments of a cleaned message, in order."""
    out: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        # "4 douz. de fines de claire", "3 cx. de limão": the stop ends an abbreviated unit, not the item.
        if ". " in line:
            line = _UNIT_STOP.sub(lambda m: f"{m.group(1)}{m.group(2)} " if unit_word(fold(m.group(2))) else m.group(0), line)
        # Commas and stops inside parentheses belong to a note on the item, not between items.
        if "(" in line:
            line = _PARENS.sub(lambda m: m.group(0).replace(",", "\u201a").replace(". ", "\u2024 ").replace("? ", "\u2047 "), line)
        for part in _HARD.split(line):
            part = part.strip(" .,:;!-–—*")
            if not part:
                continue
            for piece in _split_conj(part, lang):
                out.extend(p for p in _split_runon(piece.strip(), lang) if p.strip())
    return out
