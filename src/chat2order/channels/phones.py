"""Compatibility re-export: the phone helpers moved to `chat2order.phones` (nothing may import a channel).

Kept only while `ordering/processing.py` still imports `chat2order.channels.phones`; delete this file once
that import reads `from chat2order.phones import strip_scheme`.
"""

from __future__ import annotations

from chat2order.phones import is_whatsapp, region_of, strip_scheme, to_e164

__all__ = ["is_whatsapp", "region_of", "strip_scheme", "to_e164"]
