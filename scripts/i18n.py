"""Keep the gettext catalogs in step with the code (Babel): extract, update the .po files, compile the .mo.

    .venv/bin/python scripts/i18n.py            # extract + update + compile
    .venv/bin/python scripts/i18n.py --check    # exit 1 if a message is missing or untranslated, or a .mo is stale

Messages are found in calls `t(locale, "...")`, `nt(locale, "...", "...", n)`, `npt(locale, ctx, "...", "...", n)`
and `N_("...")`, plus module constants passed as `t(locale, SOME_TEXT, ...)` (resolved by importing the module).
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "chat2order"
LOCALE_DIR = PACKAGE / "locale"
LANGUAGES = ("pt", "fr", "it", "es")  # English is the message id itself; `en` gets an identity catalog
KEYWORDS = {"t": (2,), "nt": (2, 3), "npt": ((2, "c"), 3, 4), "N_": None}
_CONSTANT_RE = re.compile(r"\b(?:t|nt)\(\s*[\w.]+(?:\([^()]*\))?\s*,\s*([A-Z][A-Z0-9_]+)\b")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def extract() -> Catalog:
    catalog = Catalog(project="chat2order", domain="messages", fuzzy=False)
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        source = path.read_text(encoding="utf-8")
        if "i18n" not in source:
            continue  # only modules that use the catalogs (others may have a local `t`, e.g. the PDF writer)
        for lineno, message, comments, context in extract_from_file(
            "python", str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            catalog.add(message, locations=[(rel, lineno)], auto_comments=comments, context=context)
        names = set(_CONSTANT_RE.findall(source))
        if names:
            module = importlib.import_module(_module_name(path))
            for name in sorted(names):
                value = getattr(module, name, None)
                if isinstance(value, str):
                    catalog.add(value, locations=[(rel, 0)])
    return catalog


def _po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def problems(template: Catalog) -> list[str]:
    found: list[str] = []
    for lang in LANGUAGES:
        po_path = _po_path(lang)
        if not po_path.exists():
            found.append(f"{lang}: no catalog")
            continue
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale=lang)
        for message in template:
            if not message.id:
                continue
            have = catalog.get(message.id, context=message.context)
            if have is None or not have.string or (isinstance(have.string, tuple) and not all(have.string)):
                found.append(f"{lang}: untranslated {message.id!r}")
            elif have.fuzzy:
                found.append(f"{lang}: fuzzy {message.id!r}")
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with open(mo_path, "rb") if mo_path.exists() else io.BytesIO() as fh:
                stale = not mo_path.exists() or _catalog_strings(read_mo(fh)) != _catalog_strings(catalog)
            if stale:
                found.append(f"{lang}: messages.mo is older than messages.po (run scripts/i18n.py)")
    return found


def _catalog_strings(catalog: Catalog) -> dict[object, object]:
    return {(m.context, m.id): m.string for m in catalog if m.id and not m.fuzzy}


def update_and_compile(template: Catalog) -> None:
    for lang in LANGUAGES:
        po_path = _po_path(lang)
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with open(po_path, "rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            catalog = Catalog(locale=lang, domain="messages", project="chat2order")
        catalog.update(template, no_fuzzy_matching=True)
        with open(po_path, "wb") as fh:
            write_po(fh, catalog, width=110, omit_header=False, ignore_obsolete=True)
        with open(po_path.with_suffix(".mo"), "wb") as fh:
            write_mo(fh, catalog)
    with open(LOCALE_DIR / "messages.pot", "wb") as fh:
        write_po(fh, template, width=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing/untranslated messages")
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    template = extract()
    if not args.check:
        update_and_compile(template)
    found = problems(template)
    for line in found:
        print(line)
    print(f"{len(template)} messages, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
