"""Reading a supplier's price list CSV (FORMAT.md: `sku,name,pack,unit,price`) as spreadsheets export it.

Pure: text in, validated rows and row-numbered errors out; no database. Tolerates a UTF-8 BOM (or a
Windows-1252 export), `,` `;` tab or `|` as separator, `,` as decimal mark, currency symbols, header case,
spacing and a few common header names, extra columns (ignored) and blank lines. Row numbers are the
spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chat2order.errors import InvalidInput
from chat2order.onboarding.units import CANONICAL_UNITS, canonical_unit

REQUIRED = ("sku", "name", "unit", "price")
# Column sizes of `catalog_items`: a longer value is a row error, not a database failure mid-import.
MAX_LENGTHS = {"sku": 64, "name": 300, "pack": 100}
MAX_PRICE = Decimal("99999999.9999")

# Header spellings seen in supplier exports (folded: lower case, no accents, single spaces).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "code", "item code", "item no", "item number", "product code", "ref", "reference",
            "referencia", "codigo", "code article", "article", "codice", "cod", "plu"),
    "name": ("name", "description", "desc", "item", "item name", "product", "product name", "designation",
             "libelle", "produto", "producto", "prodotto", "descricao", "descripcion", "descrizione", "nome",
             "nombre", "nom"),
    "pack": ("pack", "packing", "pack size", "packaging", "size", "conditionnement", "embalagem",
             "embalaje", "confezione", "formato"),
    "unit": ("unit", "uom", "sale unit", "sales unit", "unit of sale", "unite", "unidade", "unidad",
             "unita", "um"),
    "price": ("price", "unit price", "cost", "prix", "preco", "precio", "prezzo", "price per unit"),
}
_HEADER_LOOKUP = {alias: column for column, aliases in HEADER_ALIASES.items() for alias in aliases}

DELIMITERS = (",", ";", "\t", "|")

# Currency marks a price cell may carry: symbols and ISO codes, before or after the number.
_CURRENCY = re.compile(r"(?i)(r\$|us\$|€|£|\$|¥|chf|eur|usd|gbp|brl|mxn)")
_GROUPING = re.compile(r"[\s\u00a0\u202f'’]")


@dataclass(frozen=True)
class CatalogRow:
    line: int
    sku: str
    name: str
    pack: str
    unit: str
    price: Decimal


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str
    sku: str | None = None

    def __str__(self) -> str:
        return f"{self.file}, row {self.line}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.line, "sku": self.sku, "error": self.message}


@dataclass
class CatalogFile:
    """A read price list: the good rows, the bad rows' errors and every SKU the file mentions."""

    name: str
    delimiter: str
    encoding: str
    rows: list[CatalogRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # SKUs named on any row, good or bad: a SKU on a bad row is still in the supplier's list, so an
    # import must not deactivate it.
    mentioned_skus: set[str] = field(default_factory=set)
    ignored_columns: tuple[str, ...] = ()


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[()\[\]#:.*]", " ", plain).replace("_", " ").replace("-", " ")
    return " ".join(plain.split())


def header_column(label: str) -> str | None:
    """The catalog column a header label names (`SKU `, `Unit Price (€)`, `Descrição`), or None."""
    folded = _fold(_CURRENCY.sub(" ", label))
    if folded in _HEADER_LOOKUP:
        return _HEADER_LOOKUP[folded]
    return None


def parse_price(text: str) -> Decimal:
    """A price cell as Decimal: `32.50`, `32,50`, `1.234,50`, `1,234.50`, `€ 32,50`, `$1,234`.

    With both `.` and `,` the last one is the decimal mark. With only commas, a single comma is a decimal
    mark (the reason a spreadsheet writes commas at all) and several are thousands separators; the same
    for dots. Raises ValueError with a message fit for the row report.
    """
    raw = text.strip()
    cleaned = _GROUPING.sub("", _CURRENCY.sub("", raw))
    if not cleaned:
        raise ValueError("missing price")
    negative = cleaned.startswith("-") or (cleaned.startswith("(") and cleaned.endswith(")"))
    cleaned = cleaned.strip("()").lstrip("+-")
    if not re.fullmatch(r"[0-9.,]+", cleaned) or not re.search(r"[0-9]", cleaned):
        raise ValueError(f"bad price {raw!r}")
    dots, commas = cleaned.count("."), cleaned.count(",")
    if dots and commas:
        decimal_mark = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
        grouping = "," if decimal_mark == "." else "."
        if cleaned.count(decimal_mark) > 1:
            raise ValueError(f"bad price {raw!r}")
        number = cleaned.replace(grouping, "").replace(decimal_mark, ".")
    elif commas:
        number = cleaned.replace(",", ".") if commas == 1 else cleaned.replace(",", "")
    elif dots > 1:
        number = cleaned.replace(".", "")
    else:
        number = cleaned
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"bad price {raw!r}") from None
    if negative and value:
        raise ValueError(f"negative price {raw!r}")
    if value > MAX_PRICE:
        raise ValueError(f"price {raw!r} is too large")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(f"price {raw!r} has more than 4 decimals")
    return value


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (BOM or not), else Windows-1252 (what Excel on Windows writes)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def sniff_delimiter(text: str) -> str:
    """The separator that splits the header into the most known catalog columns (then the most cells)."""
    header = _first_line(text)

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        known = {header_column(cell) for cell in cells} - {None}
        return len(known), len(cells)

    return max(DELIMITERS, key=score)


def read_catalog_text(
    text: str, name: str = "catalog.csv", *, encoding: str = "utf-8", progress: Callable[[int], None] | None = None
) -> CatalogFile:
    """Validate a price list. File-level problems (no header, a required column missing) raise InvalidInput."""
    text = text.lstrip("\ufeff")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    for cells in reader:
        if any(cell.strip() for cell in cells):
            header, header_line = cells, reader.line_num
            break
    if header is None:
        raise InvalidInput(f"{name}: the file is empty (expected a header: sku,name,pack,unit,price)")
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, label in enumerate(header):
        column = header_column(label)
        if column is None or column in positions:
            if label.strip():
                ignored.append(label.strip())
            continue
        positions[column] = index
    missing = [column for column in REQUIRED if column not in positions]
    if missing:
        raise InvalidInput(
            f"{name}, row {header_line}: header has no {', '.join(missing)} column "
            f"(found: {', '.join(cell.strip() for cell in header) or 'nothing'}; expected sku,name,pack,unit,price)"
        )

    result = CatalogFile(name=name, delimiter=delimiter, encoding=encoding, ignored_columns=tuple(ignored))
    first_seen: dict[str, int] = {}
    line = header_line
    for cells in reader:
        start, line = line + 1, reader.line_num
        if progress is not None:
            progress(1)
        if not any(cell.strip() for cell in cells):
            continue

        cell = dict.fromkeys(HEADER_ALIASES, "")
        cell.update({column: cells[i].strip() for column, i in positions.items() if i < len(cells)})

        sku = cell["sku"]
        problems: list[str] = []
        if not sku:
            problems.append("missing sku")
        if not cell["name"]:
            problems.append("missing name")
        for column, limit in MAX_LENGTHS.items():
            if len(cell[column]) > limit:
                problems.append(f"{column} longer than {limit} characters")
        unit = canonical_unit(cell["unit"])
        if not cell["unit"]:
            problems.append("missing unit")
        elif unit is None:
            problems.append(f"unknown unit {cell['unit']!r} (use one of: {', '.join(CANONICAL_UNITS)})")
        price: Decimal | None = None
        try:
            price = parse_price(cell["price"])
        except ValueError as exc:
            problems.append(str(exc))
        if sku:
            result.mentioned_skus.add(sku)
            if sku in first_seen:
                problems.append(f"duplicate sku {sku!r} (first on row {first_seen[sku]}; that row is kept)")
        if problems:
            result.errors.append(RowError(name, start, "; ".join(problems), sku or None))
            continue
        first_seen[sku] = start
        assert unit is not None and price is not None
        result.rows.append(CatalogRow(start, sku, " ".join(cell["name"].split()), cell["pack"], unit, price))
    return result


def read_catalog(path: Path, *, progress: Callable[[int], None] | None = None) -> CatalogFile:
    """Read and validate a price list file (see `read_catalog_text`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    text, encoding = decode(data)
    return read_catalog_text(text, path.name, encoding=encoding, progress=progress)


def count_lines(path: Path) -> int:
    """Roughly how many rows a file has (for a progress bar's total)."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
