"""Choices made around the catalog search, from what the chef wrote and what the catalog holds.

Three small rules found on suppliers the parser had not seen (holdout3): a quoted item code names its SKU
("ref 230024 x3"); a SKU whose name carries a variant word the chef did not write ("DIET COKE" for "coke")
is asked about, and loses to the plain product among equal readings; a bare count of a product sold both by
the box and by the piece ("10 hamburguesas") is pieces. Kept apart from `resolve` (the catalog search and
its confidence), which they only read: they take its answer and the catalog index as they are.
"""

from __future__ import annotations

import re
from typing import Any
from weakref import WeakKeyDictionary

from chat2order.parsing import grammar, lines
from chat2order.parsing.units import fold

_CODE = re.compile(r"(?<![\w-])[A-Za-z0-9][A-Za-z0-9-]{2,}[A-Za-z0-9](?![\w-])")
_CODE_SPLIT = re.compile(r"\s*(?:,|;|\+|&|\band\b|\be\b|\bet\b|\by\b)\s*", re.IGNORECASE)
# Item codes per catalog index (the index is built once per supplier and reused), as `resolve._RESPELT`: a new
# catalog version is a new index and starts afresh, and a dropped index takes its codes with it.
_CODES_SEEN: WeakKeyDictionary[Any, dict[str, str]] = WeakKeyDictionary()


def item_codes(index: Any) -> dict[str, str]:
    """The catalog's item codes a chef could quote, lower-cased: five digits or more ("1500" is more likely
    1500 g than an item), or letters and digits."""
    codes = _CODES_SEEN.get(index)
    if codes is None:
        codes = _CODES_SEEN[index] = {
            sku.lower(): sku for sku in index.by_sku
            if (sku.isdigit() and len(sku) >= 5)
            or (len(sku) >= 4 and any(ch.isdigit() for ch in sku) and any(ch.isalpha() for ch in sku))
        }
    return codes


def quoted_codes(seg: str, index: object, lang: str) -> list[tuple[str, str, lines.RawLine]]:
    """(piece, SKU, the piece read without its code) for each item code quoted in a segment ("ref 230024
    x3 and 230023 x3"): the amount next to a code is its amount. Empty when the segment quotes none, or
    when one piece quotes two codes (no telling whose amount is whose)."""
    codes = item_codes(index)
    if not codes or not any(t.lower() in codes for t in _CODE.findall(seg)):
        return []
    out: list[tuple[str, str, lines.RawLine]] = []
    for piece in _CODE_SPLIT.split(seg):
        found = [t for t in _CODE.findall(piece) if t.lower() in codes]
        if len(found) > 1:
            return []
        if found:
            out.append((piece.strip(), codes[found[0].lower()], lines.read(piece.replace(found[0], " "), lang)))
    return out


def unasked_variant(raw: lines.RawLine, sku: str, index: object) -> bool:
    """The SKU's name has a variant word ("diet", "decaf", "desnatada"; `[variant]` in the grammar lexicon)
    the chef did not write: shipping it unasked is shipping another product."""
    item = index.by_sku.get(sku)  # type: ignore[attr-defined]
    if item is None:
        return False
    variant = grammar.phrases("variant", getattr(index, "lang", "en"))
    if variant.pattern is None or variant.pattern.search(fold(item.entry.name.replace("-", " "))) is None:
        return False
    said = fold(" ".join([*raw.words, *raw.notes, *raw.words_before, *raw.words_after]).replace("-", " "))
    return variant.pattern.search(said) is None


def single_of_packings(raw: lines.RawLine, candidates: tuple[str, ...], index: object) -> str | None:
    """The per-piece SKU when the candidates are packings of one product (same name) and the chef gave a
    bare count: "10 hamburguesas" against `caja 20 ud.` and `unidad`."""
    if raw.quantity is None or raw.unit is not None or raw.kind is not None or raw.unsure or len(candidates) < 2:
        return None
    items = [index.by_sku.get(c) for c in candidates]  # type: ignore[attr-defined]
    if any(it is None for it in items) or len({it.words for it in items}) != 1:
        return None
    single = [it.sku for it in items if it.sale_unit == "each"]
    return single[0] if len(single) == 1 else None
