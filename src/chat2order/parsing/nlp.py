"""Language pipelines: spaCy blank tokenizers with order-text rules, and lemmas from spacy-lookups-data.

One pipeline per language, built on first use and kept for the life of the process (never per message).
The tokenizer splits what chefs glue together ("2cs", "5kg", "x2", "25#", "2x5kg"); the lemma table
brings plurals and gender forms to one word ("tomatoes" -> "tomato", "cebolas" -> "cebola") on both
sides of the match: the chef's words and the supplier's catalog names.
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache
from typing import Any

from chat2order.parsing.units import fold

LANGUAGES = ("en", "pt", "fr", "it", "es")
_lock = threading.Lock()
_pipelines: dict[str, Any] = {}
_lemmas: dict[str, Any] = {}

# Infix rules added to spaCy's defaults: digit/letter boundaries, "x" multipliers, "#" for pound,
# digit ranges and slashes inside packs.
_EXTRA_INFIXES = (
    r"(?<=[0-9])(?=[^\W\d_])",
    r"(?<=[^\W\d_])(?=[0-9])",
    r"(?<=[0-9])(?=[#×])",
    r"(?<=[#×])(?=[0-9])",
    r"(?<=[0-9])[-–](?=[0-9])",
    r"(?<=[^\W\d_])[/](?=[^\W\d_])",
    r"[+]",
    r"(?<=[0-9])(?=[½¼¾])",
    r"(?<=[½¼¾])(?=[^\W\d_])",  # "½cases", "½bunch"
)
# Prefix rules added to spaCy's defaults: a leading plus on a quantity ("+1 cs almonds", "+2 lb").
_EXTRA_PREFIXES = (r"\+(?=[0-9½¼¾])",)


def language_of(locale: str | None) -> str:
    lang = (locale or "en").replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else "en"


def pipeline(lang: str) -> Any:
    """The blank spaCy pipeline for `lang` with the order-text tokenizer rules (built once per process)."""
    nlp = _pipelines.get(lang)
    if nlp is not None:
        return nlp
    with _lock:
        nlp = _pipelines.get(lang)
        if nlp is None:
            import spacy
            from spacy.util import compile_infix_regex, compile_prefix_regex

            nlp = spacy.blank(lang)
            infixes = list(nlp.Defaults.infixes or ()) + list(_EXTRA_INFIXES)
            nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
            prefixes = list(_EXTRA_PREFIXES) + list(nlp.Defaults.prefixes or ())
            nlp.tokenizer.prefix_search = compile_prefix_regex(prefixes).search
            _pipelines[lang] = nlp
    return nlp


def _lemma_table(lang: str) -> Any:
    table = _lemmas.get(lang)
    if table is not None:
        return table
    with _lock:
        table = _lemmas.get(lang)
        if table is None:
            table = _read_lemma_lookup(lang)
            _lemmas[lang] = table
    return table


def _read_lemma_lookup(lang: str) -> dict[str, Any]:
    """The `lemma_lookup` table of spacy-lookups-data, read straight from its JSON (5x faster than
    building a spaCy `Table`, which hashes every key)."""
    import gzip
    import json
    from importlib import resources

    try:
        path = resources.files("spacy_lookups_data") / "data" / f"{lang}_lemma_lookup.json.gz"
        with path.open("rb") as raw, gzip.open(raw, "rb") as fh:
            data = json.load(fh)
    except (FileNotFoundError, ModuleNotFoundError, OSError, ValueError):  # no data: words stay as written
        return {}
    return data if isinstance(data, dict) else {}


def tokens(text: str, lang: str) -> list[str]:
    """Token texts of `text` by the language's tokenizer (cached: segmentation reads pieces repeatedly)."""
    return list(_tokens(text, lang))


@lru_cache(maxsize=16384)
def _tokens(text: str, lang: str) -> tuple[str, ...]:
    # spaCy's tokenizer splits at whitespace first and reads each piece on its own (prefixes, suffixes,
    # infixes, exceptions), so pieces are tokenized once and cached: catalog names and messages reuse the
    # same few thousand words. Only exceptions that contain a space ("EE. UU.") need the whole text.
    if any(special in text for special in _spaced_specials(lang)):
        return tuple(t.text for t in pipeline(lang).tokenizer(text) if not t.is_space)
    out: list[str] = []
    for piece in text.split():
        out.extend(_piece_tokens(piece, lang))
    return tuple(out)


@lru_cache(maxsize=65536)
def _piece_tokens(piece: str, lang: str) -> tuple[str, ...]:
    # A piece of plain ASCII letters is one token unless it is a tokenizer exception ("cannot"): no prefix,
    # suffix or infix rule of the five languages applies to letters alone (checked against spaCy over the
    # 1.7M such words of the lemma tables). Every new word of a message (typos) comes through here.
    if piece.isascii() and piece.isalpha() and piece not in _exceptions(lang):
        return (piece,)
    return tuple(t.text for t in pipeline(lang).tokenizer(piece) if not t.is_space)


@cache
def _exceptions(lang: str) -> frozenset[str]:
    """The tokenizer's special cases (exceptions) of `lang`."""
    return frozenset(pipeline(lang).tokenizer.rules or {})


@cache
def _spaced_specials(lang: str) -> tuple[str, ...]:
    """The tokenizer exceptions that span a space (matched across pieces), e.g. Spanish "EE. UU."."""
    rules = pipeline(lang).tokenizer.rules or {}
    return tuple(k for k in rules if not k.isspace() and any(c.isspace() for c in k))


@lru_cache(maxsize=200_000)
def norm(word: str, lang: str) -> str:
    """The matching form of a word: lemma in `lang`, lower-case, accents removed."""
    low = word.lower()
    table = _lemma_table(lang)
    lemma = table.get(low)
    if lemma is None and low != word:
        lemma = table.get(word)
    if isinstance(lemma, list):
        lemma = lemma[0] if lemma else None
    if not isinstance(lemma, str) or not lemma or lemma.isdigit():
        lemma = low
    # Lemma tables sometimes turn a noun plural into a verb form (pt "pelados", it "pelati"); a lemma
    # that shares no stem with the word is not trusted.
    if lemma[:3] != low[:3]:
        lemma = low
    out = fold(lemma)
    # Plain plural fallback when the table lacks the word ("avocados", "jalapenos").
    if out == fold(low) and len(out) > 4:
        if lang in ("en", "fr", "pt", "es") and out.endswith("es") and lang == "en" and out[-3] in "sxhoz":
            out = out[:-2]
        elif out.endswith("s") and not out.endswith("ss"):
            out = out[:-1]
    return out
