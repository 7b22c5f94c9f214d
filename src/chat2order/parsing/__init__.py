"""The order parser: free text + catalog index + history + clock in, a `ParsedOrder` out. Pure, no I/O."""

from chat2order.parsing.model import (
    CatalogEntry,
    ParseContext,
    ParsedLine,
    ParsedOrder,
    PastLine,
    PastOrder,
)


def parse(text: str, context: ParseContext) -> ParsedOrder:
    """Read one message (see `chat2order.parsing.parser.parse`)."""
    from chat2order.parsing.parser import parse as _parse

    return _parse(text, context)


__all__ = ["CatalogEntry", "ParseContext", "ParsedLine", "ParsedOrder", "PastLine", "PastOrder", "parse"]
