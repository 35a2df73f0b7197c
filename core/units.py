"""Every number Feeder Market shows, formatted by its unit — one module for the panels, the tables, the report
and the command line.

A unit decides how a number reads:

========================  ==========================================  ================
unit                      rule                                        example
========================  ==========================================  ================
``kWh``, ``kW``, ``kvar``  4 significant digits                       ``1,234``, ``12.35``
price (``EUR/kWh``)       4 significant digits                        ``0.1274``
money (``EUR``)           2 decimals                                  ``−3,326.89``
``p.u.``                  4 decimals                                  ``0.9340``
``%``                     1 decimal                                   ``66.1``
``s``                     3 significant digits                        ``0.508``
none (a ratio, an index)  3 significant digits                        ``0.924``
========================  ==========================================  ================

Thousands are separated by commas, a negative number has a true minus sign (``−``), a figure below the unit's
noise floor (a solver's last digits: ``9.9e-08 kWh``) is shown as ``0``, NaN as an en dash and infinity as ``∞``.
The names of result columns carry their unit in a suffix (``price_per_kwh``, ``bought_kwh``, ``v_min_pu``) or are
money by name (``payment``, ``welfare``); :func:`column_unit` reads it and :func:`column_label` writes the
header a person reads (``Price (EUR/kWh)``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MINUS = "−"
DASH = "–"
NOISE_FLOOR = 1e-7  # below this a figure shown with significant digits reads as 0

MONEY = "money"
PRICE = "price"

# unit key → (kind of rule, digits or decimals, noise floor)
_RULES: dict[str, tuple[str, int, float]] = {
    # a tenth of a watt(-hour): below it a power or an energy on a feeder is a solver's last digits (1.6e-06 kWh
    # sold to the grid read "0.000001607 kWh" in a report's headline)
    "kWh": ("sig", 4, 1e-4),
    "kW": ("sig", 4, 1e-4),
    "kvar": ("sig", 4, 1e-4),
    PRICE: ("sig", 4, 1e-9),
    MONEY: ("fixed", 2, 1e-6),
    "p.u.": ("fixed", 4, 1e-9),
    "%": ("fixed", 1, 1e-6),
    "s": ("sig", 3, 1e-9),
    "": ("sig", 3, NOISE_FLOOR),
    "count": ("fixed", 0, 0.5),
}

# unit suffixes of column and summary names, longest first ("{cur}" is the project's currency)
SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_per_kwh", PRICE),
    ("_kwh", "kWh"),
    ("_kvar", "kvar"),
    ("_kw", "kW"),
    ("_pu", "p.u."),
    ("_pct", "%"),
    ("_s", "s"),
)

# result columns in money whose names carry no unit
MONEY_NAMES = frozenset(
    {
        "welfare",
        "payment",
        "value",
        "cost",
        "surplus",
        "platform_surplus",
        "outside_option",
        "gain_over_outside",
        "welfare_gain",
        "welfare_lost",
        "worst_off",
        "max_envy",
        "envy",
        "utility",
        "utility_efficient",
        "transfer",
        "max_ic_gain",
        "deviation_gain",
        "grid_cost",
        "grid_payment",
        "revenue",
        "declared_gains",
        "outside_welfare",
        "worst_off_gain",
        "welfare_truthful",
        "ic_gain",
        "fairness_welfare_gain",
    }
)

_WORDS = {
    "p2p": "P2P",
    "ir": "IR",
    "ic": "IC",
    "ok": "OK",
    "dlmp": "DLMP",
    "hhi": "HHI",
    "rsi": "RSI",
    "pu": "p.u.",
    "v": "V",
    "id": "id",
    "der": "DER",
    "cournot": "Cournot",
    "ac": "AC",
    "dc": "DC",
    "pv": "PV",
    "ev": "EV",
}


def _finite_or_text(x) -> tuple[float | None, str | None]:
    """The number in ``x``, or the text it shows as when it is none (None, NaN, a word, ±∞)."""
    if x is None:
        return None, DASH
    if isinstance(x, (bool, np.bool_)):
        return None, "✓" if x else "✗"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None, str(x)
    if math.isnan(v):
        return None, DASH
    if math.isinf(v):
        return None, "∞" if v > 0 else MINUS + "∞"
    return v, None


def _minus(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def fmt_number(x, decimals: int = 2) -> str:
    """``1,234.50``, ``−2.00`` (a fixed number of decimals); a value that rounds to zero has no sign."""
    v, text = _finite_or_text(x)
    if text is not None:
        return text
    text = f"{v:,.{decimals}f}"
    if text.startswith("-") and float(text[1:].replace(",", "")) == 0:
        text = text[1:]
    return _minus(text)


def fmt_sig(x, digits: int = 4, floor: float = NOISE_FLOOR) -> str:
    """A short number with ``digits`` significant digits (``8.5``, ``0.07158``, ``3,238``); ``0`` below
    ``floor`` (a solver's noise, not a quantity worth its digits)."""
    v, text = _finite_or_text(x)
    if text is not None:
        return text
    if abs(v) < floor:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    text = f"{v:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0", ""):
        return "0"
    return _minus(text)


def unit_label(unit: str, currency: str = "EUR") -> str:
    """The unit as a person reads it: ``price`` → ``EUR/kWh``, ``money`` → ``EUR``."""
    if unit == PRICE:
        return f"{currency}/kWh"
    if unit == MONEY:
        return currency
    if unit == "count":
        return ""
    return unit


def fmt(x, unit: str = "", currency: str | None = None) -> str:
    """``x`` by the rule of ``unit`` (the module's table); with ``currency`` the unit follows the number
    (``0.1274 EUR/kWh``, ``−3,326.89 EUR``, ``66.1 %``)."""
    kind, n, floor = _RULES.get(unit, _RULES[""])
    v, text = _finite_or_text(x)
    if text is None:
        if abs(v) < floor:
            v = 0.0
        if kind == "fixed":
            text = fmt_number(v, n)
        else:
            text = fmt_sig(v, n, floor)
    if currency is None:
        return text
    label = unit_label(unit, currency)
    return f"{text} {label}" if label and text != DASH else text


def column_unit(name: str, money: Iterable[str] = MONEY_NAMES) -> str:
    """The unit key of a result column or summary entry by its name (``''`` when it has none)."""
    for suffix, unit in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return unit
    if name in money:
        return MONEY
    return ""


def column_label(name: str, currency: str = "EUR", money: Iterable[str] = MONEY_NAMES) -> str:
    """``price_per_kwh`` → ``Price (EUR/kWh)``, ``v_min_pu`` → ``V min (p.u.)``, ``payment`` → ``Payment (EUR)``."""
    base = name
    for suffix, _unit in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            break
    unit = unit_label(column_unit(name, money), currency)
    words = [_WORDS.get(w, w) for w in base.split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def column_decimals(values, digits: int = 4, most: int = 4) -> int:
    """Decimals showing about ``digits`` significant digits of the column's largest magnitude (one format for
    every row, so the decimal points line up)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0
    if np.all(v == np.round(v)):
        return 0
    top = float(np.max(np.abs(v)))
    if top == 0:
        return 0
    return int(min(most, max(1, digits - 1 - math.floor(math.log10(top)))))


def unit_decimals(values, unit: str) -> int:
    """The decimals a whole column in ``unit`` is shown with: the unit's own for fixed units, else as many as
    :func:`column_decimals` (noise below the unit's floor does not ask for more)."""
    kind, n, floor = _RULES.get(unit, _RULES[""])
    if kind == "fixed":
        return n
    v = np.asarray(values, dtype=float)
    v = np.where(np.abs(v) < floor, 0.0, v)
    return column_decimals(v, digits=n)


def fmt_cell(x, decimals: int, unit: str = "") -> str:
    """One number of a column shown with the column's ``decimals``; below the unit's noise floor it is 0."""
    v, text = _finite_or_text(x)
    if text is not None:
        return text
    return fmt_number(0.0 if abs(v) < _RULES.get(unit, _RULES[""])[2] else v, decimals)


def fmt_full(x) -> str:
    """Every digit worth having (a tooltip's full number): ``1,234.56789012``."""
    v, text = _finite_or_text(x)
    if text is not None:
        return text
    return _minus(f"{v:,.12g}" if abs(v) < 1e15 else f"{v:.12g}")


def fmt_column(values, unit: str) -> list[str]:
    """A column's numbers in one format (:func:`unit_decimals`), solver noise as 0."""
    d = unit_decimals(values, unit)
    return [fmt_cell(x, d, unit) for x in values]
