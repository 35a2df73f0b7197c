"""Short text forms of profiles and bids, for table cells and CSV columns.

* A profile is ``T`` numbers separated by commas, semicolons or spaces; one
  number stands for the same value in every period.
* Bids are blocks ``side price@quantity`` separated by commas or semicolons,
  with an optional ``tN`` for a single period: ``buy 12@1, sell 5@2 t3``.
"""

from __future__ import annotations

import math
import re

from core.scenario.model import BidBlock

_SPLIT = re.compile(r"[,;\s]+")


def format_number(v: float) -> str:
    """The shortest text that reads back as ``v`` (``repr`` without a trailing ``.0``)."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def format_profile(values) -> str:
    """``1.5, 2, 2.5`` (a constant profile is one number)."""
    vals = list(values)
    if vals and all(v == vals[0] for v in vals):
        return format_number(vals[0])
    return ", ".join(format_number(v) for v in vals)


def parse_profile(text: str, periods: int) -> tuple[float, ...]:
    """Parse ``periods`` numbers (or one, repeated). Raises ValueError with a plain message."""
    parts = [p for p in _SPLIT.split(text.strip()) if p]
    if not parts:
        raise ValueError("is empty: give one number, or one per period")
    values = []
    for k, p in enumerate(parts):
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"value {k + 1} must be a number, got '{p}'") from None
        if not math.isfinite(v):
            raise ValueError(f"value {k + 1} must be a finite number, got '{p}'")
        values.append(v)
    if len(values) == 1:
        return (values[0],) * periods
    if len(values) != periods:
        raise ValueError(f"has {len(values)} values, the horizon has {periods} period{'s' if periods != 1 else ''}")
    return tuple(values)


def format_bids(bids) -> str:
    out = []
    for b in bids:
        s = f"{b.side} {format_number(b.price_per_kwh)}@{format_number(b.quantity_kwh)}"
        if b.period is not None:
            s += f" t{b.period}"
        out.append(s)
    return ", ".join(out)


_BID = re.compile(r"^(buy|sell)\s+([^@\s]+)\s*@\s*([^\s]+)(?:\s+t(\d+))?$", re.IGNORECASE)


def parse_bids(text: str) -> tuple[BidBlock, ...]:
    """Parse ``buy 12@1, sell 5@2 t3`` into bid blocks. Raises ValueError naming the block."""
    blocks = []
    for k, chunk in enumerate(c.strip() for c in re.split(r"[,;]", text)):
        if not chunk:
            continue
        m = _BID.match(chunk)
        if not m:
            raise ValueError(f"block {k + 1} '{chunk}' must read 'buy|sell PRICE@QUANTITY [tPERIOD]'")
        try:
            price, qty = float(m.group(2)), float(m.group(3))
        except ValueError:
            raise ValueError(f"block {k + 1} '{chunk}': price and quantity must be numbers") from None
        period = int(m.group(4)) if m.group(4) is not None else None
        blocks.append(BidBlock(side=m.group(1).lower(), price_per_kwh=price, quantity_kwh=qty, period=period))
    return tuple(blocks)
