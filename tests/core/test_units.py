"""The one number formatter (core.units) on a table of hand-chosen values: each row says how a person reads it."""

import math

import numpy as np
import pytest

from core.units import MONEY, PRICE, column_label, column_unit, fmt, fmt_column, fmt_full, fmt_number, fmt_sig

CASES = [
    # value, unit, shown without and with the unit (currency EUR)
    (0.127399999, PRICE, "0.1274", "0.1274 EUR/kWh"),
    (0.0490712, PRICE, "0.04907", "0.04907 EUR/kWh"),
    (2.9e-10, PRICE, "0", "0 EUR/kWh"),  # a solver's last digits, not a price
    (-3326.894, MONEY, "−3,326.89", "−3,326.89 EUR"),  # a true minus, thousands separated, cents
    (-0.0000004, MONEY, "0.00", "0.00 EUR"),  # no "−0.00"
    (9.908e-08, "kWh", "0", "0 kWh"),
    (1.607e-06, "kWh", "0", "0 kWh"),  # the 33-bus day's "sold to the grid" (an interior-point solver's last digits)
    (0.00025, "kWh", "0.00025", "0.00025 kWh"),  # a quarter of a watt-hour is still a quantity
    (915.348, "kWh", "915.3", "915.3 kWh"),
    (12345.678, "kWh", "12,346", "12,346 kWh"),
    (3.14159, "kW", "3.142", "3.142 kW"),
    (0.93398, "p.u.", "0.9340", "0.9340 p.u."),  # four decimals: a tenth of a volt in 400 V
    (66.0934, "%", "66.1", "66.1 %"),
    (0.50821, "s", "0.508", "0.508 s"),
    (0.92381, "", "0.924", "0.924"),
    (float("nan"), "kWh", "–", "–"),
    (math.inf, PRICE, "∞", "∞ EUR/kWh"),
    (None, MONEY, "–", "–"),
]


@pytest.mark.parametrize(("value", "unit", "bare", "with_unit"), CASES)
def test_a_number_reads_by_its_unit(value, unit, bare, with_unit):
    assert fmt(value, unit) == bare
    assert fmt(value, unit, currency="EUR") == with_unit


def test_fixed_and_significant_digits():
    assert fmt_number(1234.5, 2) == "1,234.50"
    assert fmt_number(-2, 2) == "−2.00"
    assert fmt_number(-0.001, 2) == "0.00"
    assert fmt_sig(0.071584) == "0.07158"
    assert fmt_sig(3238.4) == "3,238"
    assert fmt_sig(8.5) == "8.5"
    assert fmt_sig(-8.5e-9) == "0"
    assert fmt_full(1234.56789012345) == "1,234.56789012"


def test_a_column_has_one_format_and_shows_noise_as_zero():
    # four significant digits of the largest value decide the decimals of every row, so the points line up
    assert fmt_column(np.array([915.348, 2.5, 9.9e-08, -12.25]), "kWh") == ["915.3", "2.5", "0.0", "−12.2"]
    assert fmt_column(np.array([0.1274, 0.13954]), PRICE) == ["0.1274", "0.1395"]
    assert fmt_column(np.array([12.0, -3.456]), MONEY) == ["12.00", "−3.46"]
    assert fmt_column(np.array([1.0, 2.0, 3.0]), "kWh") == ["1", "2", "3"]


def test_a_column_name_carries_its_unit():
    assert column_unit("dlmp_max_per_kwh") == PRICE
    assert column_unit("bought_kwh") == "kWh"
    assert column_unit("v_min_pu") == "p.u."
    assert column_unit("max_loading_pct") == "%"
    assert column_unit("payment") == MONEY
    assert column_unit("ir_ok") == ""
    assert column_label("price_per_kwh", "¢") == "Price (¢/kWh)"
    assert column_label("v_min_pu") == "V min (p.u.)"
    assert column_label("p2p_kwh") == "P2P (kWh)"
    assert column_label("platform_surplus", "¢") == "Platform surplus (¢)"
    assert column_label("ir_ok") == "IR OK"
