"""Sale units: the canonical names of the benchmark format (FORMAT.md) and the spellings price lists use.

A price list exported from a spreadsheet writes `Kg`, `kgs`, `cs`, `Caixa`, `#`, `ea`... The importer maps
them to one canonical unit so the parser and the order sheet speak one vocabulary. Anything not listed
here is rejected with a row error rather than guessed (a wrong sale unit multiplies every order line).
"""

from __future__ import annotations

import unicodedata

CANONICAL_UNITS: tuple[str, ...] = (
    # measures
    "kg", "g", "lb", "oz", "l", "ml", "gal", "qt", "pt", "fl_oz",
    # counts
    "each", "dozen",
    # packaging
    "case", "bag", "bunch", "flat", "bottle", "can", "jar", "tub", "pack", "head", "loaf",
)

# Spelling (lower case, accents removed, no trailing dot) -> canonical unit. Plurals ending in "s" are
# tried without the "s" as well, so only irregular plurals need listing.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "kg": ("kilo", "kilogram", "kilogramme", "kilograms", "kgs", "quilo", "chilo", "kilogramo"),
    "g": ("gr", "gram", "gramme", "grams", "grs", "grama", "grammo", "grammi", "gramo"),
    "lb": ("lbs", "pound", "#", "libra"),
    "oz": ("ounce", "onza"),
    "l": ("lt", "ltr", "litre", "liter", "litro", "litri"),
    "ml": ("millilitre", "milliliter", "mililitro", "millilitro"),
    "gal": ("gallon",),
    "qt": ("quart",),
    "pt": ("pint",),
    "fl_oz": ("fl oz", "floz", "fl. oz", "fluid ounce", "fl_oz"),
    "each": ("ea", "unit", "un", "und", "ud", "u", "pc", "pcs", "piece", "piece", "unidade", "unidad",
             "unite", "pezzo", "pezzi", "pz", "count", "ct"),
    "dozen": ("doz", "dz", "duzia", "douzaine", "dozzina", "docena"),
    "case": ("cs", "box", "bx", "carton", "ctn", "crate", "caixa", "cx", "caisse", "colis", "cassa",
             "cassetta", "caja", "cj", "cajas", "casse", "cassette"),
    "bag": ("sack", "saco", "sac", "sacco", "sacchi", "bolsa", "malla", "costal", "costales"),
    "bunch": ("bn", "bu", "bch", "molho", "botte", "mazzo", "mazzi", "manojo", "atado"),
    "flat": ("tray", "bandeja", "plateau", "plateaux", "vaschetta", "vaschette", "barquette", "cuvete",
             "punnet"),
    "bottle": ("btl", "bt", "garrafa", "bouteille", "bottiglia", "bottiglie", "botella"),
    "can": ("tin", "lata", "latta", "lattina", "boite", "conserve"),
    "jar": ("frasco", "bocal", "vasetto", "barattolo", "tarro"),
    "tub": ("balde", "seau", "secchio", "bucket", "tarrina"),
    "pack": ("pk", "pkt", "packet", "package", "pkg", "paquete", "pacote", "paquet", "confezione",
             "emb", "embalagem", "sachet"),
    "head": ("hd", "tete", "cabeza", "cespo", "pe"),
    "loaf": ("loaves", "pain", "pao", "pagnotta", "hogaza"),
}

_LOOKUP: dict[str, str] = {unit: unit for unit in CANONICAL_UNITS}
for _canonical, _spellings in _SPELLINGS.items():
    for _spelling in _spellings:
        _LOOKUP[_spelling] = _canonical


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.replace("_", " ").split()).rstrip(".")


def canonical_unit(spelling: str) -> str | None:
    """The canonical unit for a spelling such as `KGS`, `Caixa`, `cs.` or `#`; None when unknown."""
    key = _fold(spelling)
    if not key:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    if key.replace(" ", "_") in _LOOKUP:
        return _LOOKUP[key.replace(" ", "_")]
    # Regular plurals: cases, bunches, boxes, bags, sacos, caixas.
    for suffix in ("es", "s"):
        if key.endswith(suffix) and key[: -len(suffix)] in _LOOKUP:
            return _LOOKUP[key[: -len(suffix)]]
    return None
