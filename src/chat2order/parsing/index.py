"""The supplier's catalog, prepared once for fast, typo-tolerant, pack-aware matching.

`CatalogIndex.build(entries)` normalises every name (lemmas, accents, case, sizes such as "25#" or
"115CT" as size tokens), reads every pack string (`units.parse_pack`), and builds an inverted index
word -> SKUs plus a character-trigram index over the vocabulary. A query word is mapped to catalog words
(exact, lemma, typo via rapidfuzz on the trigram short list, prefix for abbreviations, or a cross-language
food word from `models/lexicon/food.toml`), then only SKUs holding those words are scored. Cost grows with
the number of SKUs sharing the chef's words, not with the catalog.

No supplier-specific alias lists: a new supplier's plain price list works on day one.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from chat2order.parsing import grammar, lines, nlp
from chat2order.parsing.model import CatalogEntry
from chat2order.parsing.units import Pack, fold, parse_pack


@dataclass(frozen=True)
class Item:
    """One SKU as the matcher sees it."""

    entry: CatalogEntry
    words: tuple[str, ...]  # normalised name words
    specs: frozenset[str]  # size tokens of the name and pack ("m11.3", "c115", "5x6")
    pack: Pack
    weight: float  # sum of idf of its words
    word_set: frozenset[str] = frozenset()

    # Cached into the instance on first read (the matcher reads them hundreds of times per message; a
    # frozen dataclass still has a __dict__ for cached_property to fill).
    @cached_property
    def sku(self) -> str:
        return self.entry.sku

    @cached_property
    def sale_unit(self) -> str:
        return self.entry.unit


class Scored(NamedTuple):
    """One SKU's scores for a query. A named tuple, not a frozen dataclass: dozens are made per search and
    a frozen dataclass's __init__ costs several times more."""

    item: Item
    query: float  # share of the chef's words found in this SKU's name (idf weighted), 0..1
    name: float  # share of this SKU's name covered by the chef's words, 0..1
    spec: float  # +1 each size the chef gave that the SKU has, -1 each that contradicts it
    head: bool = True  # the chef's words include the first word of the SKU's name (its product noun)


_RANK_KEY = itemgetter(1, 3, 2)  # Scored (query, spec, name)
# The ufunc reductions behind ndarray.max/min, called directly: the methods go through a Python-level
# wrapper (numpy's _methods module) that costs more than the reduction over a search's few thousand SKUs.
_MAX = np.maximum.reduce
_MIN = np.minimum.reduce
# round(hit, 4) of the float32 hit values seen so far: Python's correctly rounded round() costs ~1 us, and
# a catalog's hits take few distinct values.
_ROUNDED: dict[float, float] = {}
UNKNOWN_WEIGHT = 0.35
# Searches remembered per index (first in, first out): ~30 scored SKUs each, about a MB. Kept small: every
# cached object is one more for the garbage collector to walk.
SEARCH_CACHE_SIZE = 2048
# Sets of matched catalog words whose name coverages are remembered per index (first in, first out): a
# line's words come back with other typos, sizes and word orders, which make new searches over the
# same catalog words; ~30 coverages each, a few MB in all.
COVERAGE_CACHE_SIZE = 2048
# Plural endings of the five languages, accent-free, tried when the lemma table does not know the word.
_PLURALS = (
    ("oes", "ao"), ("aes", "ao"), ("ns", "m"), ("eaux", "eau"), ("aux", "al"), ("ces", "z"),
    ("es", ""), ("s", ""), ("i", "o"), ("e", "a"), ("i", "e"), ("x", ""),
)


def _trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _guess_language(entries: Sequence[CatalogEntry]) -> str:
    """The catalog's language by which language's food words its names use most."""
    words: set[str] = set()
    for entry in entries[:2000]:
        words.update(fold(entry.name).split())
    best, best_hits = "en", -1
    groups = grammar.food_groups()
    # Each group lists en first, then pt, fr, it, es; positions are only a hint, so count exact words.
    for lang in nlp.LANGUAGES:
        stop = grammar.filler(lang)
        hits = sum(1 for w in words if w in stop)
        hits += sum(1 for g in groups for w in g if w in words and lang == "en" and w == g[0])
        if hits > best_hits:
            best, best_hits = lang, hits
    return best


class CatalogIndex:
    """A supplier's catalog prepared for matching. Build once per catalog version; read-only after."""

    def __init__(self, items: list[Item], lang: str, surface: dict[str, str] | None = None) -> None:
        self.items = items
        self.lang = lang
        # Catalog words as written (folded) -> their lemma: "judia" -> "judio" when the chef types the
        # catalog's own word without its accent and the lemma table only knows the accented form.
        self.surface = surface or {}
        self.by_sku: dict[str, Item] = {it.sku: it for it in items}
        postings: dict[str, list[int]] = defaultdict(list)
        for n, it in enumerate(items):
            for w in set(it.words):
                postings[w].append(n)
        self.postings = dict(postings)
        total = max(len(items), 1)
        self.idf = {w: math.log(1 + total / len(p)) for w, p in self.postings.items()}
        self.max_idf = math.log(1 + total)
        grams: dict[str, set[str]] = defaultdict(set)
        for w in self.postings:
            for g in _trigrams(w):
                grams[g].add(w)
        self.grams = dict(grams)
        self.specs = frozenset(s for it in items for s in it.specs)
        self._post_arrays = {w: np.asarray(p, dtype=np.int64) for w, p in self.postings.items()}
        spec_posts: dict[str, list[int]] = defaultdict(list)
        for n, it in enumerate(items):
            for sp in it.specs:
                spec_posts[sp].append(n)
        self._spec_arrays = {sp: np.asarray(p, dtype=np.int64) for sp, p in spec_posts.items()}
        self._weights = np.asarray([it.weight for it in items], dtype=np.float32)
        # The tie-break of the ranking (a longer name ranks a hair lower), element for element the float32
        # product the search used to compute per query.
        self._tiebreak = self._weights * 1e-4
        self._sku_pos = {it.sku: n for n, it in enumerate(items)}
        # Per catalog position, what the result loop reads of an SKU, in one tuple: (item, its words, its
        # word set, its weight, its first word or None); a search builds ~25 results from these.
        self._rows = [(it, it.words, it.word_set, it.weight, it.words[0] if it.words else None) for it in items]
        self._expand_cache: dict[str, tuple[tuple[str, float], ...]] = {}
        self._translate_cache: dict[tuple[str, ...], list[str]] = {}
        self._query_cache: dict[tuple[str, ...], tuple[tuple[float, tuple[tuple[str, float], ...]], ...]] = {}
        self._term_cache: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {}
        self._phrase_cache: dict[tuple[str, ...], str | None] = {}
        self._group_cache: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._keep_cache: dict[int, tuple[tuple[str, ...], np.ndarray]] = {}
        self._search_cache: dict[tuple[object, ...], tuple[Scored, ...]] = {}
        self._coverage_cache: dict[tuple[str, ...], dict[tuple[str, ...], float]] = {}
        self._cache_lock = threading.Lock()
        self._local = threading.local()
        self._group_index = self._groups()
        # What a chef's word must be for a phrase starting with it to be a catalog word written with a
        # hyphen ("saint-marcellin") or a food-lexicon phrase ("tomate verde"): the text before a hyphen of
        # a catalog word, or before a space of a lexicon phrase. Most two- and three-word runs of a line
        # start with no such word, and `_phrase` answers them without joining and looking them up.
        self._phrase_heads = frozenset(
            [w[:i] for w in self.postings for i, c in enumerate(w) if c == "-"]
            + [k[:i] for k in self._group_index for i, c in enumerate(k) if c == " "]
        )
        self._food_words = frozenset(w for g in grammar.food_groups() for m in g for w in m.split())

    @classmethod
    def build(cls, entries: Sequence[CatalogEntry], language: str | None = None) -> CatalogIndex:
        """Prepare a catalog. `language` (two letters or a locale) picks the lemma table; guessed if None."""
        lang = nlp.language_of(language) if language else _guess_language(entries)
        raw: list[tuple[CatalogEntry, tuple[str, ...], frozenset[str], Pack]] = []
        surface: dict[str, str] = {}
        for entry in entries:
            # Uncached read: catalog names are read once, and 100k of them would flush the message cache.
            read = lines._read(entry.name, lang, catalog=True)
            words = tuple(nlp.norm(w, lang) for w in read.words if w)
            for w, lemma in zip(read.words, words):
                surface.setdefault(fold(w), lemma)
            words = tuple(w for w in words if w)
            pack = parse_pack(entry.pack or "", entry.unit)
            specs = set(read.specs)
            if pack.content is not None and pack.content_dim in ("mass", "volume"):
                specs.add(f"{pack.content_dim[0]}{pack.content:.3g}")
            raw.append((entry, words, frozenset(specs), pack))
        # idf needs the postings first; weights are filled in a second pass.
        counts: dict[str, int] = defaultdict(int)
        for _, words, _, _ in raw:
            for w in set(words):
                counts[w] += 1
        total = max(len(raw), 1)
        items = [
            Item(e, w, s, p, sum(math.log(1 + total / counts[x]) for x in set(w)) or 1.0, frozenset(w))
            for e, w, s, p in raw
        ]
        return cls(items, lang, surface)

    def __len__(self) -> int:
        return len(self.items)

    # -- words ------------------------------------------------------------------------------------------

    def _groups(self) -> dict[str, list[tuple[str, ...]]]:
        """Food-lexicon word or phrase -> other members of its groups, as catalog word tuples."""
        out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for group in grammar.food_groups():
            stop = grammar.filler(self.lang)
            members = [tuple(self._norm(w) for w in m.split() if w not in stop) for m in group]
            members = [m for m in members if m]
            present = [m for m in members if all(w in self.postings for w in m)]
            if not present:
                continue
            for m in group:
                out[m].extend(present)
        return dict(out)

    def _norm(self, word: str) -> str:
        return self.surface.get(fold(word)) or nlp.norm(word, self.lang)

    def _forms(self, word: str) -> list[str]:
        """The word, its lemma, and plural-stripped forms for words the lemma table misses (typed without
        accents: "limoes" -> "limao", "poireaux" -> "poireau")."""
        low = fold(word)
        forms = [low, self._norm(word)]
        for suffix, repl in _PLURALS:
            if low.endswith(suffix) and len(low) - len(suffix) >= 3:
                forms.append(low[: len(low) - len(suffix)] + repl)
        return forms

    def translate(self, words: Sequence[str]) -> list[str]:
        """Chef words -> catalog words: abbreviations expanded, and food words the catalog spells in another
        language ("tomate verde" at an English produce house -> "tomatillo") replaced by the catalog's."""
        key = tuple(words)
        cached = self._translate_cache.get(key)
        if cached is not None:
            return cached
        out = self._translate(words)
        if len(self._translate_cache) < 50_000:
            self._translate_cache[key] = out
        return out

    def _translate(self, words: Sequence[str]) -> list[str]:
        abbrev = grammar.abbreviations()
        expanded: list[str] = []
        for w in words:
            # "XL" stays "XL" where the catalog writes it so; expanded only for catalogs that spell it out.
            full = abbrev.get(fold(w)) if self._norm(w) not in self.postings else None
            expanded.extend(full.split() if full else [w])
        out: list[str] = []
        i = 0
        while i < len(expanded):
            done = False
            for size in (3, 2, 1):
                if i + size > len(expanded):
                    continue
                chunk = tuple(expanded[i : i + size])
                found = self._phrase(chunk)
                if found is None:  # a single word the catalog knows: kept as written
                    break
                if found:
                    out.append(found)
                    i += size
                    done = True
                    break
            if not done:
                out.append(expanded[i])
                i += 1
        return out

    def _phrase(self, chunk: tuple[str, ...]) -> str | None:
        """The catalog's words for a chef's word or phrase from the food lexicon ("a|b" for several
        translations), "" when there is none to make, None for a single word the catalog itself holds.
        Remembered per chunk: the same words recur in every message."""
        cached = self._phrase_cache.get(chunk, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        if len(chunk) > 1:
            # Every joined form looked up below starts with the first word (folded or normalised) and a
            # hyphen or space: no phrase or hyphenated word starts so, no translation to make.
            first = chunk[0]
            heads = self._phrase_heads
            if fold(first) not in heads and self._norm(first) not in heads:
                return ""
        normed = [self._norm(w) for w in chunk]
        result: str | None = ""
        if len(chunk) == 1 and normed[0] in self.postings:
            result = None
        elif len(chunk) > 1 and (joined := self._hyphenated(chunk, normed)):
            # "St Marcellin", "ste maure": the catalog writes the name hyphenated ("Saint-Marcellin").
            result = joined
        elif len(chunk) > 1 and all(w in self.postings for w in normed):
            result = ""
        else:
            keys = {" ".join(fold(w) for w in chunk), " ".join(normed)}
            if len(chunk) == 1:
                keys.update(self._forms(chunk[0]))
            targets: list[tuple[str, ...]] = []
            for key in keys:
                targets.extend(self._group_index.get(key, ()))
            if targets:
                # Several translations (limon -> lemon and lime) all stay: the matcher scores each.
                alts = sorted(set(targets))
                result = "|".join(" ".join(t) for t in alts)
        if len(self._phrase_cache) < 100_000:
            self._phrase_cache[chunk] = result
        return result

    def _hyphenated(self, chunk: tuple[str, ...], normed: list[str]) -> str:
        for joined in ("-".join(normed), "-".join(fold(w) for w in chunk)):
            if joined in self.postings:
                return joined
        return ""

    def expand(self, word: str) -> tuple[tuple[str, float], ...]:
        """Catalog words a chef's word may mean, with a similarity 0..1."""
        cached = self._expand_cache.get(word)
        if cached is not None:
            return cached
        result: dict[str, float] = {}
        forms = self._forms(word)
        for form in forms:
            if form in self.postings:
                result[form] = 1.0
        if not result:
            key = forms[1]
            if len(key) >= 3:
                pool: set[str] = set()
                for g in _trigrams(key):
                    pool.update(self.grams.get(g, ()))
                if pool:
                    cutoff = 88 if len(key) <= 5 else 82 if len(key) <= 7 else 78
                    for cand, score, _ in process.extract(
                        key, list(pool), scorer=fuzz.ratio, limit=5, score_cutoff=cutoff
                    ):
                        if abs(len(cand) - len(key)) <= 3:
                            result[cand] = max(result.get(cand, 0.0), score / 100 * 0.95)
                    # Abbreviations: "brussels" -> "brussels sprouts", "cuc" -> "cucumber".
                    for cand in pool:
                        if cand in result:
                            continue
                        if len(key) >= 3 and cand.startswith(key) and len(cand) - len(key) <= 4:
                            result[cand] = 0.8 if len(key) >= 4 else 0.7
                        elif len(cand) >= 4 and key.startswith(cand) and len(key) - len(cand) <= 3:
                            result[cand] = 0.8
                        elif len(key) >= 4 and cand.endswith(key) and len(cand) - len(key) <= 5 and (
                            len(key) >= 5 or key not in self._food_words
                        ):
                            # "slaw" -> "coleslaw"; not a category word ("fish" is no "monkfish").
                            result[cand] = 0.75
        out = tuple(sorted(result.items(), key=lambda kv: -kv[1]))
        if len(self._expand_cache) < 100_000:
            self._expand_cache[word] = out
        return out

    def knows(self, word: str) -> bool:
        """Whether the catalog holds this word as written, as its lemma or as a plural-stripped form: what
        `expand` rates 1.0. Without the typo search `expand` falls back to, which the matcher's respelling
        would otherwise run for every swapped-letter guess at a new typo."""
        cached = self._expand_cache.get(word)
        if cached is not None:
            return bool(cached) and cached[0][1] >= 1.0
        postings = self.postings
        return any(form in postings for form in self._forms(word))

    def _keep_positions(self, keep: Collection[str]) -> np.ndarray:
        """Catalog positions of the SKUs of `keep`, in its order; cached for tuples (the kitchen's
        history SKUs are the same tuple for every line of a message and every message of that history)."""
        if isinstance(keep, tuple):
            hit = self._keep_cache.get(id(keep))
            if hit is not None and hit[0] is keep:
                return hit[1]
        pos = [self._sku_pos.get(sku) for sku in keep]
        arr = np.asarray([n for n in pos if n is not None], dtype=np.int64)
        if isinstance(keep, tuple):
            if len(self._keep_cache) >= 256:
                self._keep_cache.pop(next(iter(self._keep_cache)))
            self._keep_cache[id(keep)] = (keep, arr)
        return arr

    # -- search -----------------------------------------------------------------------------------------

    def search(
        self, words: Sequence[str], specs: Sequence[str] = (), limit: int = 24, keep: Collection[str] = ()
    ) -> list[Scored]:
        """SKUs that hold the chef's words, best first: the `limit` best, plus any SKU of `keep` (this
        kitchen's history) that explains the words nearly as well.

        Results are remembered per (query, sizes, limit, history SKUs) when `keep` is a tuple: chefs send the
        same lines day after day, and the matcher retries a line's first words ("pepper") for many lines. The
        query is the chef's words as the catalog reads them (lemma, typo fixed, translated), so "tomatoes",
        "tomato" and "tomatos" share one entry."""
        query = self._query(tuple(words))
        if SEARCH_CACHE_SIZE and isinstance(keep, tuple):
            key = (query, tuple(specs), limit, keep)
            hit = self._search_cache.get(key)
            if hit is not None:
                return list(hit)
            result = self._search_query(query, specs, limit, keep)
            with self._cache_lock:
                if len(self._search_cache) >= SEARCH_CACHE_SIZE:
                    self._search_cache.pop(next(iter(self._search_cache)), None)
                self._search_cache[key] = tuple(result)
            return result
        return self._search_query(query, specs, limit, keep)

    def _search(
        self, words: Sequence[str], specs: Sequence[str], limit: int, keep: Collection[str]
    ) -> list[Scored]:
        return self._search_query(self._query(tuple(words)), specs, limit, keep)

    def _query(self, words: tuple[str, ...]) -> tuple[tuple[float, tuple[tuple[str, float], ...]], ...]:
        """The chef's words as weighted catalog-word options: per term (weight, ((catalog word, similarity),
        ...)), in the words' order. Remembered per word tuple (the same words recur across messages)."""
        cached = self._query_cache.get(words)
        if cached is not None:
            return cached
        out = tuple(map(self._term, self.translate(words)))
        if len(self._query_cache) < 50_000:
            self._query_cache[words] = out
        return out

    def _term(self, term: str) -> tuple[float, tuple[tuple[str, float], ...]]:
        """One translated term as (weight, ((catalog word, similarity), ...)). Remembered per term: a new
        line is mostly known words in a new combination."""
        cached = self._term_cache.get(term)
        if cached is not None:
            return cached
        out = self._read_term(term)
        if len(self._term_cache) < 100_000:
            self._term_cache[term] = out
        return out

    def _read_term(self, term: str) -> tuple[float, tuple[tuple[str, float], ...]]:
        options: dict[str, float] = {}
        weight = 0.0
        alts = term.split("|")
        phrase_words: list[list[str]] = [a.split() for a in alts]
        if len(alts) == 1 and len(phrase_words[0]) == 1:
            for cand, sim in self.expand(term):
                options[cand] = max(options.get(cand, 0.0), sim)
            # A word the catalog does not know at all weighs less than one it knows: chefs' messages
            # carry names, verbs and chit-chat the filler list cannot foresee.
            weight = max((self.idf[c] for c in options), default=self.max_idf * UNKNOWN_WEIGHT)
            return weight, tuple(options.items())
        # A translated word or phrase: each alternative is a set of catalog words; scored as one term.
        for alt in phrase_words:
            for w in alt:
                options[w] = max(options.get(w, 0.0), 0.97)
        weight = max((self.idf.get(c, self.max_idf) for c in options), default=self.max_idf)
        return weight, tuple(options.items())

    def _search_query(
        self,
        query: tuple[tuple[float, tuple[tuple[str, float], ...]], ...],
        specs: Sequence[str],
        limit: int,
        keep: Collection[str],
    ) -> list[Scored]:
        if not query:
            return []
        total = sum(w for w, _ in query) or 1.0
        # Sparse scoring with numpy over only the SKUs holding a candidate word (a 10k catalog has a
        # thousand "tomato" SKUs, but not ten thousand): a few vector operations per chef word on that short
        # array. The float32 arithmetic is element for element what dense scoring of the catalog gave.
        matched: set[str] = set()
        terms_posts: list[tuple[float, list[tuple[np.ndarray, float]]]] = []
        arrays: list[np.ndarray] = []
        post_arrays = self._post_arrays
        for weight, options in query:
            posts: list[tuple[np.ndarray, float]] = []
            for cand, sim in options:
                post = post_arrays.get(cand)
                if post is None:
                    continue
                posts.append((post, sim))
                arrays.append(post)
                matched.add(cand)
            terms_posts.append((weight, posts))
        if not matched:
            return []
        # Union of the sorted postings through a mask; hits summed in a catalog-long accumulator. Both are
        # per-thread scratch arrays, reset after use at the union's places only: allocating them (or a
        # position map into the union) per search cost more than the scoring itself at 100k SKUs.
        mask, acc, term = self._scratch()
        for post in arrays:
            mask[post] = True
        cand_pos = mask.nonzero()[0]  # np.flatnonzero without its Python-level wrappers
        try:
            return self._score(specs, limit, keep, terms_posts, total, matched, mask, acc, term, cand_pos)
        finally:
            mask[cand_pos] = False
            acc[cand_pos] = 0

    def _coverages(self, matched: tuple[str, ...]) -> dict[tuple[str, ...], float]:
        """The remembered name coverages of the matched words `matched` (in the order their set
        iterates), a dict the caller fills."""
        coverage = self._coverage_cache.get(matched)
        if coverage is None:
            coverage = {}
            if COVERAGE_CACHE_SIZE:
                with self._cache_lock:
                    if len(self._coverage_cache) >= COVERAGE_CACHE_SIZE:
                        self._coverage_cache.pop(next(iter(self._coverage_cache)), None)
                    self._coverage_cache[matched] = coverage
        return coverage

    def _scratch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This thread's all-False mask and all-zero accumulators over the catalog, made once per thread."""
        local = self._local
        mask = getattr(local, "mask", None)
        if mask is None:
            mask = local.mask = np.zeros(len(self.items), dtype=bool)
            local.acc = np.zeros(len(self.items), dtype=np.float32)
            local.term = np.zeros(len(self.items), dtype=np.float32)
        return mask, local.acc, local.term

    def _score(
        self,
        specs: Sequence[str],
        limit: int,
        keep: Collection[str],
        terms_posts: list[tuple[float, list[tuple[np.ndarray, float]]]],
        total: float,
        matched: set[str],
        mask: np.ndarray,
        acc: np.ndarray,
        term: np.ndarray,
        cand_pos: np.ndarray,
    ) -> list[Scored]:
        """Rank the SKUs of the union `cand_pos`. The float32 arithmetic is element for element that of
        adding each chef word's weighted similarity vector over the union: a word's float32 product
        weight x similarity lands where its catalog words post, in the words' order."""
        size = len(cand_pos)
        f32 = np.float32
        for weight, posts in terms_posts:
            if not posts:
                continue
            if len(posts) == 1:
                post, sim = posts[0]
                acc[post] += f32(weight) * f32(sim)  # a posting has no repeats
                continue
            # Several catalog words for one chef word (typo candidates): the best similarity per SKU.
            for post, sim in posts:
                term[post] = np.maximum(term[post], sim)
            acc[cand_pos] += f32(weight) * term[cand_pos]
            term[cand_pos] = 0
        hits = acc[cand_pos]
        hits /= total
        best = float(_MAX(hits))
        if best <= 0:
            return []
        qspecs = set(specs)
        rank = hits - self._tiebreak[cand_pos]
        for s in qspecs:
            post = self._spec_arrays.get(s)
            if post is not None:
                rank[np.searchsorted(cand_pos, post[mask[post]])] += 0.05
        # Every SKU of the union holds a matched word, so its hit is positive unless float32 underflowed:
        # then the positions are simply all of them (the same array argpartition always saw).
        if _MIN(hits) > 0:
            # All positions: argpartition sees the same array as rank[arange] and its indices are the places.
            top = (-rank).argpartition(limit - 1)[:limit] if size > limit else np.arange(size)
        else:
            nonzero = (hits > 0).nonzero()[0]
            if len(nonzero) > limit:
                top = nonzero[(-rank[nonzero]).argpartition(limit - 1)[:limit]]
            else:
                top = nonzero
        found = dict(zip(cand_pos[top].tolist(), hits[top].tolist()))
        # A set of positions, filled in the same order as always: ties keep their (set) order.
        chosen = set(found)
        if keep:
            floor = best - 0.35
            keep_pos = self._keep_positions(keep)
            keep_pos = keep_pos[mask[keep_pos]]
            # Only this kitchen's SKUs that hold a query word are looked at, in the order of `keep`; the
            # comparison is float32 against the floor, as numpy compares a float32 with a Python float.
            kh = acc[keep_pos] / total  # the same float32 division as `hits`
            sel = (kh >= floor) & (kh > 0)
            for n, h in zip(keep_pos[sel].tolist(), kh[sel].tolist()):
                if n in found:
                    continue
                found[n] = h
                chosen.add(n)
        scored: list[Scored] = []
        idf = self.idf.__getitem__
        # tuple.__new__ builds the named tuple without the Python-level __new__ (a third of the loop's time).
        make = tuple.__new__
        # SKUs of one name (one per pack) share their words and so their coverage: summed once per name,
        # in the same order as always (equal word tuples make equal sets). The sum runs over the set
        # `word_set & matched`, whose order (and so the float sum) follows from the name's word set and
        # the order `matched` iterates in (the smaller set is iterated, the other only asked for
        # membership): remembered per (matched words in that order, name) for later searches.
        coverage = self._coverages(tuple(matched))
        rounded = _ROUNDED
        if len(rounded) > 200_000:
            rounded.clear()
        rows = self._rows
        for n in chosen:
            item, iw, word_set, weight, first = rows[n]
            hit = found[n]
            covered = coverage.get(iw)
            if covered is None:
                covered = coverage[iw] = sum(map(idf, word_set & matched))
            query = rounded.get(hit)
            if query is None:
                query = rounded[hit] = round(hit, 4)
            spec = 0.0
            for s in qspecs:
                if s in item.specs:
                    spec += 1
                elif s[0] in "mvc" and any(x[0] == s[0] for x in item.specs):
                    spec -= 1
            scored.append(make(Scored, (item, query, covered / weight, spec, first is None or first in matched)))
        # Best first by (query, spec, name); a reversed sort keeps ties in their order, like the ascending
        # sort on the negated key did, and itemgetter is a C key.
        scored.sort(key=_RANK_KEY, reverse=True)
        return scored
