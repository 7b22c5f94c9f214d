"""An order attached as a CSV or spreadsheet, read as order-line text ("<item> <quantity> <unit>" per line).

Kitchens often fill in the supplier's order form (every product listed, quantities typed in for a few) or
export a list from their stock software. Rows without a quantity are the untouched rest of the form and are
skipped. The parser then reads these lines like any typed order. Spreadsheets are zip files, so their
uncompressed size is checked before openpyxl opens them (zip bombs).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal, InvalidOperation

MAX_ROWS = 2000
MAX_COLUMNS = 50
MAX_XLSX_UNCOMPRESSED = 30 * 1024 * 1024

CSV_TYPES = {"text/csv", "application/csv", "text/comma-separated-values", "text/tab-separated-values"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

# Column titles in the five languages we serve, lower-cased and without accents where clients drop them.
_ITEM = {
    "item", "items", "product", "products", "description", "desc", "name", "article",
    "produit", "désignation", "designation", "libellé", "libelle",
    "produto", "artigo", "descrição", "descricao", "designação",
    "prodotto", "articolo", "descrizione",
    "producto", "artículo", "descripción", "descripcion",
}
# Used only when no product-name column exists: the parser prefers words, but a code is better than nothing.
_CODE = {"sku", "code", "ref", "référence", "reference", "código", "codigo", "codice", "item code", "item no"}
_QUANTITY = {
    "qty", "quantity", "qté", "qte", "quantité", "quantite", "quantidade", "qtd", "qtde",
    "quantità", "quantita", "qta", "qtà", "cantidad", "cant", "cant.", "order", "commande", "encomenda",
    "ordine", "pedido",
}
_UNIT = {"unit", "uom", "pack", "unité", "unite", "conditionnement", "unidade", "embalagem", "unità", "unita",
         "confezione", "unidad", "envase", "formato"}


def is_sheet(filename: str | None, content_type: str) -> bool:
    name = (filename or "").lower()
    return (
        content_type in CSV_TYPES
        or content_type in XLSX_TYPES
        or name.endswith((".csv", ".tsv", ".xlsx", ".xlsm"))
    )


def order_text_from_attachment(
    data: bytes, filename: str | None, content_type: str, charset: str | None
) -> tuple[str, str | None]:
    """The attachment's order lines as text, and a note when it could not be read ("" and the reason)."""
    name = (filename or "").lower()
    try:
        if content_type in XLSX_TYPES or name.endswith((".xlsx", ".xlsm")):
            rows = rows_from_xlsx(data)
        else:
            rows = rows_from_csv(data, charset)
    except Exception as exc:  # noqa: BLE001 - a damaged file stays an attachment a person can open
        return "", f"attachment {filename or content_type} unreadable: {type(exc).__name__}"
    return order_text(rows), None


def rows_from_csv(data: bytes, charset: str | None) -> list[list[str]]:
    from chat2order.channels.mime import decode_bytes

    text = decode_bytes(data, charset)[0].lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    return [row[:MAX_COLUMNS] for _, row in zip(range(MAX_ROWS), reader)]


def rows_from_xlsx(data: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
            raise ValueError("spreadsheet expands beyond the size limit")
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            rows = [
                ["" if cell is None else _cell_text(cell) for cell in row[:MAX_COLUMNS]]
                for _, row in zip(range(MAX_ROWS), sheet.iter_rows(values_only=True))
            ]
            if any(any(cell.strip() for cell in row) for row in rows):
                return rows
        return []
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def order_text(rows: list[list[str]]) -> str:
    """Rows to order lines. With a recognised header: item, quantity, unit columns; else the cells joined."""
    rows = [[cell.strip() for cell in row] for row in rows if any(cell.strip() for cell in row)]
    for position, row in enumerate(rows[:5]):
        titles = [_title(cell) for cell in row]
        item = _column(titles, _ITEM)
        item = _column(titles, _CODE) if item is None else item
        quantity = _column(titles, _QUANTITY)
        if item is not None and quantity is not None:
            unit = _column(titles, _UNIT)
            return "\n".join(_line(r, item, quantity, unit) for r in rows[position + 1 :] if _wanted(r, quantity))
    return "\n".join(" ".join(cell for cell in row if cell) for row in rows)


def _title(cell: str) -> str:
    return re.sub(r"[\s_]+", " ", cell.strip().lower()).strip(" :.")


def _column(titles: list[str], words: set[str]) -> int | None:
    for index, title in enumerate(titles):
        if title in words or title.split(" ")[0] in words:
            return index
    return None


def _wanted(row: list[str], quantity: int) -> bool:
    value = row[quantity] if quantity < len(row) else ""
    if not value:
        return False
    try:
        return Decimal(value.replace(",", ".")) != 0
    except InvalidOperation:
        return True  # "2 cs", "half": let the parser read it


def _line(row: list[str], item: int, quantity: int, unit: int | None) -> str:
    def get(index: int | None) -> str:
        return row[index] if index is not None and index < len(row) else ""

    return " ".join(part for part in (get(item), get(quantity), get(unit)) if part)
