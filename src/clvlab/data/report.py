"""The report of one load: what was read, stored, rejected, merged and netted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LoadReport:
    """What one load did. ``str()`` is a readable summary, :meth:`to_dict` feeds ``--json``.

    Attributes
    ----------
    rows_read : data rows in the source (header and blank lines excluded).
    inserted : rows written to the table.
    already_present : valid rows whose key was already stored with the same values (a re-load).
    updated : valid rows whose key was stored with other values, now updated (tables whose key
        allows it: customers).
    rejected : rejected row counts by ``"column: reason"``.
    duplicates : rows identical to an earlier row of the same source.
    merged : duplicate rows folded into their first occurrence (``merge_duplicates=True``).
    refunds : valid rows flagged ``is_refund``.
    refunds_netted, refund_amount_netted : refund rows linked to the purchase they undo by this
        load (over the whole table), and their amount (positive).
    orders_cancelled : orders those refunds leave at zero or less (no longer purchases).
    refunds_unlinked : stored refund rows linked to no purchase (left out of RFM).
    no_customer : rows rejected for a missing customer id.
    ignored : source columns that map to no column of the table (not stored).
    """

    source: str
    table: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    already_present: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    merged: int = 0
    refunds: int = 0
    refunds_netted: int = 0
    refund_amount_netted: float = 0.0
    orders_cancelled: int = 0
    refunds_unlinked: int = 0
    no_customer: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        """Total rejected rows."""
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``n_rejected``."""
        d = asdict(self)
        d["n_rejected"] = self.n_rejected
        return d

    def __str__(self) -> str:
        lines = [
            f"Loaded '{self.source}' into '{self.table}' in {self.seconds:.2f} s",
            f"  rows read        {self.rows_read:>12,}",
            f"  inserted         {self.inserted:>12,}",
            *([f"  updated          {self.updated:>12,}"] if self.updated else []),
            f"  already present  {self.already_present:>12,}",
            f"  rejected         {self.n_rejected:>12,}",
        ]
        lines += [f"    {reason}: {n:,}" for reason, n in sorted(self.rejected.items())]
        if self.duplicates:
            how = "merged" if self.merged else "kept as separate rows"
            lines.append(f"  exact duplicates {self.duplicates:>12,}  ({how})")
        if self.refunds:
            lines.append(f"  refunds flagged  {self.refunds:>12,}")
        if self.refunds_netted:
            lines.append(f"  refunds netted   {self.refunds_netted:>12,}  "
                         f"({self.refund_amount_netted:,.2f} off their orders; "
                         f"{self.orders_cancelled:,} orders cancelled in full)")
        if self.refunds_unlinked:
            lines.append(f"  refunds unlinked {self.refunds_unlinked:>12,}  "
                         "(no matching purchase: left out of RFM)")
        if self.rejects_path:
            lines.append(f"  rejected rows written to {self.rejects_path}")
        if self.mapping:
            pairs = ", ".join(f"{k} <- {v}" for k, v in self.mapping.items())
            lines.append(f"  columns: {pairs}")
        if self.ignored:
            lines.append(f"  not loaded: {', '.join(self.ignored)} (no column of '{self.table}' maps to them)")
        if self.date_format:
            lines.append(f"  date format: {self.date_format}")
        return "\n".join(lines)
