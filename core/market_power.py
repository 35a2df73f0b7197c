"""Market concentration and market power of the sellers of a cleared book ("Strategic Behavior and Market Power").

The chapter's tools from industrial organization, applied to one period's order
book and the outcome of a mechanism on it:

* **Market shares** ``s_i = q_i / Σ_j q_j`` of the kWh sold.
* **Herfindahl–Hirschman index** ``HHI = Σ s_i²`` on the 0–1 scale (the chapter's
  scale), and in "points" ``10,000·HHI`` (shares in percent, the antitrust
  convention). The chapter's example: shares 40/30/20/10 % give
  ``0.4² + 0.3² + 0.2² + 0.1² = 0.30`` (3,000 points), highly concentrated.
* **Concentration bands**: below 0.15 unconcentrated, 0.15–0.25 moderately
  concentrated, above 0.25 highly concentrated. The 0.25 threshold is the
  chapter's; the bands are those of the US DOJ/FTC *Horizontal Merger Guidelines*
  (2010, §5.3): below 1,500 points, 1,500–2,500, above 2,500. (The 2023 Merger
  Guidelines lowered "highly concentrated" to above 1,800 points; the chapter's
  0.25 is the 2010 threshold, kept here.)
* **Lerner index** ``L = (P − mc)/P``: observed (the clearing price against the
  seller's marginal cost at its last sold kWh) and the Cournot prediction
  ``L_i = s_i/|ε|`` with ``ε`` the price elasticity of demand. The chapter's
  example: ``s_1 = 0.4``, ``|ε| = 5`` → ``L_1 = 0.08``.
* **Residual supply index** ``RSI_i = (Σ_j cap_j − cap_i)/D`` with ``D`` the
  demand cleared: seller ``i`` is **pivotal** (``RSI_i < 1``) when the others
  alone cannot serve the demand — it can withhold and set the price. (The RSI
  is the California ISO's screen; it is not in the chapter, which names
  withholding as the way market power is exercised.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from core.mechanisms import AuctionOutcome, OrderBook

__all__ = [
    "BAND_HIGH",
    "BAND_MODERATE",
    "MarketPowerReport",
    "concentration_band",
    "demand_at",
    "demand_elasticity",
    "hhi",
    "hhi_points",
    "lerner_cournot",
    "lerner_observed",
    "market_power_report",
    "residual_supply_index",
    "shares",
]

BAND_MODERATE = 0.15
"""HHI (0–1 scale) from which a market is moderately concentrated: 1,500 points (DOJ/FTC 2010, §5.3)."""
BAND_HIGH = 0.25
"""HHI above which a market is highly concentrated: the chapter's 0.25; 2,500 points (DOJ/FTC 2010, §5.3)."""
_BAND_TOL = 1e-12  # so that 0.15 and 0.25 computed with rounding error stay in the moderate band


def shares(quantities):
    """Market shares ``s_i = q_i / Σ_j q_j`` ("Strategic Behavior and Market Power").

    ``quantities`` are non-negative (kWh sold, or capacities). A pandas Series
    keeps its index; anything else gives a numpy array. All zero → all shares
    ``NaN`` (no market to share). Raises ``ValueError`` on negative or non-finite
    quantities.
    """
    index = quantities.index if isinstance(quantities, pd.Series) else None
    q = np.asarray(quantities, dtype=np.float64)
    if q.ndim != 1:
        raise ValueError(f"shares: quantities must be one-dimensional, got shape {q.shape}")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError(f"shares: quantities must be finite and ≥ 0, got {q.tolist()}")
    total = float(q.sum())
    s = q / total if total > 0 else np.full(q.shape, np.nan)
    return pd.Series(s, index=index) if index is not None else s


def _checked_shares(s) -> np.ndarray:
    arr = np.asarray(s, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"hhi: shares must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1 + 1e-9) or arr.sum() > 1 + 1e-9:
        raise ValueError(
            "hhi: shares must be fractions in [0, 1] summing to at most 1 "
            f"(for percentages divide by 100), got {arr.tolist()}"
        )
    return arr


def hhi(s) -> float:
    """Herfindahl–Hirschman index on the 0–1 scale: ``HHI = Σ_i s_i²`` ("Strategic Behavior and Market Power").

    ``s`` are fractions (0.4, not 40). Shares 0.4, 0.3, 0.2, 0.1 give
    ``0.16 + 0.09 + 0.04 + 0.01 = 0.30`` (the chapter's example). Shares summing
    to less than 1 (a fringe left out) are allowed and give a lower bound.
    """
    arr = _checked_shares(s)
    return float(np.sum(arr * arr))


def hhi_points(s) -> float:
    """HHI in antitrust points: ``10,000·Σ s_i² = Σ (100·s_i)²`` ("Strategic Behavior and Market Power").

    Takes the shares as fractions, like :func:`hhi`; 0.4/0.3/0.2/0.1 give
    ``1600 + 900 + 400 + 100 = 3,000`` points.
    """
    return 10_000.0 * hhi(s)


def concentration_band(h: float) -> str:
    """The concentration band of an HHI on the 0–1 scale ("Strategic Behavior and Market Power").

    ``"unconcentrated"`` if ``HHI < 0.15``, ``"moderately concentrated"`` if
    ``0.15 ≤ HHI ≤ 0.25``, ``"highly concentrated"`` if ``HHI > 0.25`` — the
    chapter's threshold 0.25, and the bands of the US DOJ/FTC Horizontal Merger
    Guidelines (2010, §5.3), which use 1,500 and 2,500 points. The boundaries
    belong to the moderate band (a tolerance of 1e-12 absorbs rounding). An HHI
    above 1 is taken for points and refused; ``NaN`` (no trade) gives ``"no trade"``.
    """
    h = float(h)
    if np.isnan(h):
        return "no trade"
    if h < 0 or h > 1 + 1e-9:
        raise ValueError(f"concentration_band: the HHI must be on the 0–1 scale (points / 10,000), got {h!r}")
    if h < BAND_MODERATE - _BAND_TOL:
        return "unconcentrated"
    if h <= BAND_HIGH + _BAND_TOL:
        return "moderately concentrated"
    return "highly concentrated"


def lerner_observed(price, marginal_cost):
    """Observed Lerner index ``L = (P − mc)/P`` ("Strategic Behavior and Market Power").

    The price–cost margin as a fraction of the price: 0 for a price-taker selling
    at marginal cost, → 1 as the price rises far above cost. Vectorised over
    numpy arrays; ``NaN`` where ``P ≤ 0`` (the index is not defined there) or an
    input is ``NaN``. Note ``L = 0.08`` means ``P = mc/0.92``, i.e. 8.7 % above
    marginal cost (the chapter rounds this to "8 %").
    """
    p = np.asarray(price, dtype=np.float64)
    mc = np.asarray(marginal_cost, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, (p - mc) / np.where(p > 0, p, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def lerner_cournot(share, elasticity):
    """Cournot Lerner index ``L_i = s_i/|ε|`` ("Strategic Behavior and Market Power").

    A Cournot seller's first-order condition ``P + q_i·P'(Q) = c_i`` gives
    ``(P − c_i)/P = −q_i P'(Q)/P = s_i/|ε|`` with ``ε = (dQ/dP)(P/Q)``. The
    chapter's example: ``0.4/5 = 0.08``. The sign of ``elasticity`` is ignored;
    ``ε = 0`` (perfectly inelastic demand) gives ``inf`` for a positive share,
    ``|ε| = ∞`` gives 0 (price-takers). Vectorised.
    """
    s = np.asarray(share, dtype=np.float64)
    e = np.abs(np.asarray(elasticity, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(e > 0, s / np.where(e > 0, e, 1.0), np.where(s > 0, np.inf, 0.0))
    return float(out) if out.ndim == 0 else out


def demand_at(book: OrderBook, price: float) -> float:
    """Quantity demanded on the book's demand step curve: ``D(p) = Σ_{bid_i ≥ p} q_i`` (kWh)."""
    return float(book.buy_qty[book.buy_price >= price].sum())


def demand_elasticity(book: OrderBook, price: float, quantity: float, band: float = 0.05) -> float:
    """Price elasticity of demand at the clearing point, from the demand step curve ("Strategic Behavior").

    A step curve has slope 0 or ∞ everywhere, so the slope is taken as a secant
    over a small price band around the clearing price ``P``:
    ``p_lo = P − δ|P|``, ``p_hi = P + δ|P|`` (``δ = band``, 5 % by default), and

        ``ε = [D(p_hi) − D(p_lo)] / (p_hi − p_lo) · P / Q``

    with ``D(p) = Σ_{bid ≥ p} q`` (:func:`demand_at`) and ``Q`` the quantity
    cleared (``quantity``). ``ε ≤ 0``; 0 when no bid lies in the band (locally
    perfectly inelastic). The value depends on ``band``: it is the arc
    elasticity of that band, evaluated at the clearing point. ``NaN`` when
    ``P = 0`` or ``Q ≤ 0``.
    """
    price, quantity, band = float(price), float(quantity), float(band)
    if not band > 0:
        raise ValueError(f"demand_elasticity: band must be > 0, got {band!r}")
    if price == 0 or not quantity > 0 or not np.isfinite(price):
        return float("nan")
    half = band * abs(price)
    lo, hi = price - half, price + half
    slope = (demand_at(book, hi) - demand_at(book, lo)) / (hi - lo)
    return float(slope * price / quantity)


def residual_supply_index(capacity, demand: float):
    """Residual supply index per seller: ``RSI_i = (Σ_j cap_j − cap_i)/D`` (kWh/kWh).

    ``capacity`` is each seller's offered kWh, ``demand`` the demand to be served
    (the quantity cleared). Seller ``i`` is pivotal when ``RSI_i < 1``: without it
    the others cannot serve ``D``. ``D ≤ 0`` gives ``inf`` (nobody is pivotal).
    """
    cap = np.asarray(capacity, dtype=np.float64)
    demand = float(demand)
    if demand <= 0:
        return np.full(cap.shape, np.inf)
    return (cap.sum() - cap) / demand


class MarketPowerReport(NamedTuple):
    """Per seller (``sellers``) and for the market (``summary``); unpacks as ``(sellers, summary)``.

    ``sellers`` columns: ``agent, capacity_kwh, sold_kwh, share, capacity_share,
    marginal_cost, price, lerner_observed, lerner_cournot, rsi, pivotal``.
    ``summary`` keys: ``hhi, hhi_points, band, hhi_capacity, elasticity,
    abs_elasticity, price, traded_kwh, n_sellers, pivotal`` (names).
    """

    sellers: pd.DataFrame
    summary: dict


def market_power_report(
    book: OrderBook,
    outcome: AuctionOutcome,
    truth: OrderBook | None = None,
    elasticity: float | None = None,
    band: float = 0.05,
) -> MarketPowerReport:
    """Concentration and market power of each seller of ``book`` cleared as ``outcome`` ("Strategic Behavior").

    Sellers are the agents with at least one ask. Per seller:

    * ``sold_kwh``, ``share = sold/Σ sold`` (HHI from these), ``capacity_share``
      from the offered kWh;
    * ``marginal_cost`` = the highest *true* ask (``truth``, default ``book``)
      among its blocks with a fill > 0: the marginal cost of its last sold kWh
      (the truthful asks of :mod:`core.bids` are marginal costs); ``NaN`` if it
      sold nothing;
    * ``price`` = the uniform price when the mechanism has one, else what the
      seller received per kWh, ``−payment/sold`` (``NaN`` for an agent that
      also bought);
    * ``lerner_observed = (price − marginal_cost)/price``;
      ``lerner_cournot = share/|ε|``;
    * ``rsi = (Σ capacity − capacity_i)/Q`` with ``Q`` the cleared kWh;
      ``pivotal = rsi < 1``.

    ``ε`` is :func:`demand_elasticity` at (uniform price or mean seller price,
    ``Q``) unless ``elasticity`` is given. ``book`` must be the book ``outcome``
    was cleared from.
    """
    if outcome.sell_fill.shape != book.sell_price.shape or outcome.buy_fill.shape != book.buy_price.shape:
        raise ValueError(
            "market_power_report: the outcome was not cleared from this book "
            f"({book.n_buy}/{book.n_sell} blocks vs {outcome.buy_fill.size}/{outcome.sell_fill.size})"
        )
    truth = book if truth is None else truth
    if truth.sell_price.shape != book.sell_price.shape:
        raise ValueError("market_power_report: truth and book must have the same blocks")
    n = len(book.agents)
    cap = np.bincount(book.sell_agent, weights=book.sell_qty, minlength=n)
    codes = np.flatnonzero(np.bincount(book.sell_agent, minlength=n) > 0)
    sold = np.asarray(outcome.agent_sold, dtype=np.float64)[codes]
    capacity = cap[codes]
    traded = float(outcome.traded_qty)

    mc = np.full(codes.size, np.nan)
    filled = outcome.sell_fill > 0
    for k, c in enumerate(codes):
        mine = filled & (book.sell_agent == c)
        if mine.any():
            mc[k] = float(truth.sell_price[mine].max())

    if outcome.price is not None:
        price = np.full(codes.size, float(outcome.price))
        market_price = float(outcome.price)
    else:
        bought = np.asarray(outcome.agent_bought)[codes]
        pay = np.asarray(outcome.agent_payment)[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where((sold > 0) & (bought == 0), -pay / np.where(sold > 0, sold, 1.0), np.nan)
        ok = np.isfinite(price)
        market_price = float((price[ok] * sold[ok]).sum() / sold[ok].sum()) if ok.any() else float("nan")

    s = shares(sold) if sold.sum() > 0 else np.full(codes.size, np.nan)
    cs = shares(capacity) if capacity.sum() > 0 else np.full(codes.size, np.nan)
    if elasticity is None:
        eps = demand_elasticity(book, market_price, traded, band) if np.isfinite(market_price) else float("nan")
    else:
        eps = -abs(float(elasticity))
    rsi = residual_supply_index(capacity, traded)
    frame = pd.DataFrame(
        {
            "agent": [book.agents[int(c)] for c in codes],
            "capacity_kwh": capacity,
            "sold_kwh": sold,
            "share": s,
            "capacity_share": cs,
            "marginal_cost": mc,
            "price": price,
            "lerner_observed": np.atleast_1d(lerner_observed(price, mc)),
            "lerner_cournot": np.atleast_1d(lerner_cournot(s, eps))
            if np.isfinite(eps)
            else np.full(codes.size, np.nan),
            "rsi": rsi,
            "pivotal": rsi < 1.0,
        }
    )
    h = hhi(s) if np.all(np.isfinite(s)) else float("nan")
    summary = {
        "hhi": h,
        "hhi_points": 10_000.0 * h,
        "band": concentration_band(h),
        "hhi_capacity": hhi(cs) if np.all(np.isfinite(cs)) else float("nan"),
        "elasticity": eps,
        "abs_elasticity": abs(eps),
        "price": market_price,
        "traded_kwh": traded,
        "n_sellers": int(codes.size),
        "pivotal": [book.agents[int(c)] for c, p in zip(codes, rsi < 1.0, strict=True) if p],
    }
    return MarketPowerReport(frame, summary)
