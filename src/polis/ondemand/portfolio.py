"""The insurer's portfolio of on-demand cover over a period ``[from, to)``, valued at ``as_of``.

Pure: the caller passes the facts (windows, ledger entries, claims); nothing is read here. Every
figure is computed per **cell** (partner = tenant, product), then summed into the lines per
product, per partner and in total, so the lines always add up.

Definitions (``E = [from, min(to, as_of))``, the part of the period that has elapsed):

- **activations**: windows not cancelled whose start falls in ``[from, to)``;
- **exposure**: real elapsed time covered inside ``E`` (earned exposure, not written), per insured
  object — overlapping windows of one object count once;
- **written premium**: premium of the ledger entries dated in ``[from, to)`` (charges, minus
  refunds); **earned premium**: each window's net premium (its charges minus its refunds) ×
  ``|cover ∩ E| / |cover|``, the cover being ``[start, end)`` as it stands (ended early: the stop).
  Premium means the **net premium and surcharges, taxes excluded**; contributions (FGTI…), fees
  and refund fees are not premium. The **pure premium** is earned the same way;
- **in force at as_of**: objects covered at that instant and the sum of their sums insured (each
  object once);
- **claims**: claims with a loss in ``[from, to)`` (accident period), counted unless refused or
  withdrawn; **incurred** = paid − recovered + outstanding reserve, all claims, as the caller
  values them (the service: as recorded when the report is made);
- **frequency** = claims / hours × 1,000; **cost per hour** = incurred / hours; **priced cost per
  hour** = earned pure premium / hours; **loss ratio** = incurred / earned premium.

Rounding: money is rounded half-up to the cent **once per cell** (kernel ``round_money``); lines
are sums of cells. Exposure is exact (microseconds). Ratios are computed from the rounded money
and the exact exposure, rounded half-up to 4 decimals (:func:`polis.ondemand.drift.ratio`); a
ratio over zero exposure (or zero earned premium) is ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from polis.kernel.errors import InvalidInput
from polis.kernel.explain import Explanation
from polis.kernel.money import round_money
from polis.kernel.time import Window, ensure_utc
from polis.ondemand.drift import (
    DEFAULT_TOLERANCE,
    FULL_CREDIBILITY_CLAIMS,
    DriftCheck,
    drift_check,
    ratio,
)
from polis.ondemand.intervals import length, union
from polis.rating.text import show

__all__ = [
    "ClaimFact",
    "EntryFact",
    "Figures",
    "Portfolio",
    "PortfolioLine",
    "WindowFact",
    "build_portfolio",
    "portfolio_line",
]

ZERO = Decimal("0.00")
_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
_PER_HOURS = Decimal(1000)
Cell = tuple[str, str]


@dataclass(frozen=True, slots=True)
class WindowFact:
    """A cover window: whose (partner, product), which object, its cover as it stands."""

    window_id: str
    partner: str
    product: str
    object_key: str  # subscription and item: overlapping windows of one object count once
    start: datetime
    end: datetime
    cancelled: bool
    sum_insured: Decimal


@dataclass(frozen=True, slots=True)
class EntryFact:
    """A ledger entry of a window: premium (taxes excluded) and exact pure premium, signed
    (a refund is negative)."""

    window_id: str
    at: datetime
    premium: Decimal
    pure: Decimal


@dataclass(frozen=True, slots=True)
class ClaimFact:
    """A claim on an on-demand policy and its money (paid, recovered, outstanding reserve)."""

    claim_id: str
    partner: str
    product: str
    loss_at: datetime
    counted: bool  # False when refused or withdrawn
    paid: Decimal
    recovered: Decimal
    reserve: Decimal

    @property
    def incurred(self) -> Decimal:
        return self.paid - self.recovered + self.reserve


@dataclass(frozen=True, slots=True)
class Figures:
    """The additive figures of a cell or a line (money rounded to the cent)."""

    activations: int = 0
    exposure: timedelta = timedelta(0)
    written: Decimal = ZERO
    earned: Decimal = ZERO
    earned_pure: Decimal = ZERO
    in_force: int = 0
    sums_insured: Decimal = ZERO
    claims: int = 0
    paid: Decimal = ZERO
    recovered: Decimal = ZERO
    reserves: Decimal = ZERO

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Figures)))

    @property
    def incurred(self) -> Decimal:
        return self.paid - self.recovered + self.reserves

    @property
    def hours(self) -> Decimal:
        """Exposure in hours, exact (28 significant digits)."""
        return Decimal(self.exposure // timedelta(microseconds=1)) / _MICROSECONDS_PER_HOUR


@dataclass(frozen=True, slots=True)
class PortfolioLine:
    """A line of the report: ``partner`` / ``product`` None when summed over them."""

    partner: str | None
    product: str | None
    figures: Figures
    frequency: Decimal | None  # claims per 1,000 hours
    cost_per_hour: Decimal | None
    priced_per_hour: Decimal | None
    loss_ratio: Decimal | None
    drift: DriftCheck | None
    explanation: tuple[Explanation, ...]


@dataclass(frozen=True, slots=True)
class Portfolio:
    period: Window
    as_of: datetime
    cells: tuple[PortfolioLine, ...]  # per partner and product
    products: tuple[PortfolioLine, ...]  # per product, every partner
    partners: tuple[PortfolioLine, ...]  # per partner, every product
    total: PortfolioLine

    @property
    def alerts(self) -> tuple[DriftCheck, ...]:
        """The products whose credibility-weighted rate drifts beyond the tolerance."""
        return tuple(
            line.drift for line in self.products if line.drift is not None and line.drift.alert
        )


def _per(numerator: Decimal, denominator: Decimal, scale: Decimal = Decimal(1)) -> Decimal | None:
    return None if denominator == 0 else ratio(numerator * scale / denominator)


def portfolio_line(
    partner: str | None,
    product: str | None,
    figures: Figures,
    *,
    full: int = FULL_CREDIBILITY_CLAIMS,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> PortfolioLine:
    """The ratios of ``figures``, the drift check of a product line, and every step explained."""
    f, hours = figures, figures.hours
    frequency = _per(Decimal(f.claims), hours, _PER_HOURS)
    cost = _per(f.incurred, hours)
    priced = _per(f.earned_pure, hours)
    loss_ratio = _per(f.incurred, f.earned)
    h = show(ratio(hours))
    steps = [
        Explanation("activations", "windows not cancelled starting in the period", Decimal(f.activations)),
        Explanation("exposure (hours)", "covered time inside the elapsed period, each object once", ratio(hours)),
        Explanation("written premium", "Σ premium of charges − refunds dated in the period, taxes excluded", f.written),
        Explanation("earned premium", "Σ window net premium × elapsed cover in the period / window cover", f.earned),
        Explanation("earned pure premium", "Σ window net pure premium × elapsed cover in the period / window cover", f.earned_pure),
        Explanation("sums insured in force", f"{f.in_force} object(s) covered at the valuation instant", f.sums_insured),
        Explanation("incurred", f"paid − recovered + reserves = {f.paid} − {f.recovered} + {f.reserves}", f.incurred),
        Explanation("claims frequency per 1,000 h", f"{f.claims} claims / {h} h × 1000", frequency),
        Explanation("cost per hour", f"incurred / hours = {f.incurred} / {h}", cost),
        Explanation("priced cost per hour", f"earned pure premium / hours = {f.earned_pure} / {h}", priced),
        Explanation("loss ratio", f"incurred / earned premium = {f.incurred} / {f.earned}", loss_ratio),
    ]  # fmt: skip
    drift = None
    if product is not None and cost is not None and priced is not None and priced > 0:
        drift = drift_check(
            partner,
            product,
            claims=f.claims,
            observed_per_hour=cost,
            priced_per_hour=priced,
            full=full,
            tolerance=tolerance,
        )
    return PortfolioLine(
        partner, product, figures, frequency, cost, priced, loss_ratio, drift, tuple(steps)
    )


def _window_cells(
    period: Window,
    as_of: datetime,
    windows: Sequence[WindowFact],
    entries: Iterable[EntryFact],
) -> dict[Cell, Figures]:
    by_id = {w.window_id: w for w in windows}
    net: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    written: dict[Cell, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        window = by_id.get(entry.window_id)
        if window is None:
            raise InvalidInput(f"entry of unknown window {entry.window_id}", field="entries")
        if entry.at > as_of:
            continue
        premium, pure = net[entry.window_id]
        net[entry.window_id] = (premium + entry.premium, pure + entry.pure)
        if period.contains(entry.at):
            written[(window.partner, window.product)] += entry.premium
    elapsed_end = min(period.end, as_of)
    earned: dict[Cell, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    cover: dict[str, list[Window]] = defaultdict(list)
    activations: dict[Cell, int] = defaultdict(int)
    in_force: dict[str, WindowFact] = {}
    for w in windows:
        cell = (w.partner, w.product)
        written.setdefault(cell, ZERO)
        if w.cancelled or w.end <= w.start:
            continue
        activations[cell] += period.contains(w.start)
        if w.start <= as_of < w.end:
            in_force.setdefault(w.object_key, w)
        if period.start >= elapsed_end:
            continue
        inside = Window(w.start, w.end).intersection(Window(period.start, elapsed_end))
        if inside is None:
            continue
        cover[w.object_key].append(inside)
        share = Decimal(inside.duration // timedelta(microseconds=1)) / Decimal(
            (w.end - w.start) // timedelta(microseconds=1)
        )
        premium, pure = net[w.window_id]
        earned[cell][0] += premium * share
        earned[cell][1] += pure * share
    cells: dict[Cell, Figures] = {}
    object_cell = {w.object_key: (w.partner, w.product) for w in windows}
    exposure: dict[Cell, timedelta] = defaultdict(timedelta)
    for key, pieces in cover.items():
        exposure[object_cell[key]] += length(union(pieces))
    forced: dict[Cell, tuple[int, Decimal]] = defaultdict(lambda: (0, ZERO))
    for w in in_force.values():
        count, amount = forced[(w.partner, w.product)]
        forced[(w.partner, w.product)] = (count + 1, amount + w.sum_insured)
    for cell in written:
        cells[cell] = Figures(
            activations=activations[cell],
            exposure=exposure[cell],
            written=written[cell],
            earned=round_money(earned[cell][0]),
            earned_pure=round_money(earned[cell][1]),
            in_force=forced[cell][0],
            sums_insured=round_money(forced[cell][1]),
        )
    return cells


def _claim_cells(period: Window, claims: Iterable[ClaimFact]) -> dict[Cell, Figures]:
    cells: dict[Cell, Figures] = {}
    for claim in claims:
        if not period.contains(claim.loss_at):
            continue
        cell = (claim.partner, claim.product)
        cells[cell] = cells.get(cell, Figures()) + Figures(
            claims=1 if claim.counted else 0,
            paid=claim.paid,
            recovered=claim.recovered,
            reserves=claim.reserve,
        )
    return cells


def build_portfolio(
    period: Window,
    as_of: datetime,
    windows: Sequence[WindowFact],
    entries: Iterable[EntryFact],
    claims: Iterable[ClaimFact],
    *,
    full: int = FULL_CREDIBILITY_CLAIMS,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> Portfolio:
    """The report: cells per (partner, product), lines per product and per partner, the total."""
    moment = ensure_utc(as_of, field="as_of")
    cells = _window_cells(period, moment, windows, entries)
    for cell, figures in _claim_cells(period, claims).items():
        cells[cell] = cells.get(cell, Figures()) + figures
    products: dict[str, Figures] = defaultdict(Figures)
    partners: dict[str, Figures] = defaultdict(Figures)
    total = Figures()
    for (partner, product), figures in cells.items():
        products[product] += figures
        partners[partner] += figures
        total += figures

    def line(partner: str | None, product: str | None, figures: Figures) -> PortfolioLine:
        return portfolio_line(partner, product, figures, full=full, tolerance=tolerance)

    return Portfolio(
        period,
        moment,
        tuple(line(p, q, cells[(p, q)]) for p, q in sorted(cells)),
        tuple(line(None, q, products[q]) for q in sorted(products)),
        tuple(line(p, None, partners[p]) for p in sorted(partners)),
        line(None, None, total),
    )
