"""The owners table: who answers for which store or product, and how to reach them.

A CSV (or a DataFrame) has one row per owner and scope: ``owner_id`` (required), ``name``,
``email``, ``webhook``, ``store_id`` and/or ``product_id``, and optionally ``default`` (true for
the owner who gets cases nobody else owns).  An owner who answers for several stores has several
rows.  Loading is an upsert: re-loading the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clvlab.errors import DataValidationError, Issue
from clvlab.store import AppStore, Owner, OwnerScope

_TRUE = {"1", "true", "yes", "y", "t", "x"}


@dataclass(frozen=True)
class OwnersReport:
    """What a load did."""

    owners: int
    scopes: int
    default_owner: str | None

    def __str__(self) -> str:
        default = f"; default owner '{self.default_owner}'" if self.default_owner else ""
        return f"{self.owners} owners, {self.scopes} store/product scopes loaded{default}"


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def load_owners(
    store: AppStore, source: str | Path | pd.DataFrame, *, default: str | None = None
) -> OwnersReport:
    """Load (upsert) owners and their store/product scopes into the app store.

    Parameters
    ----------
    store
        The open application store.
    source
        A CSV file or a DataFrame with the columns described in the module docstring.
    default
        ``owner_id`` of the default owner (overrides a ``default`` column).
    """
    name = "owners" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.exists():
            msg = f"owners file not found: '{path}'"
            raise DataValidationError(msg)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "owner_id" not in frame.columns:
        msg = f"'{name}' has no 'owner_id' column (columns: {', '.join(frame.columns)})"
        raise DataValidationError(msg, hint="columns: owner_id, name, email, webhook, store_id, product_id")
    issues: list[Issue] = []
    owners: dict[str, dict[str, object]] = {}
    scopes: dict[tuple[str | None, str | None], tuple[str, int]] = {}
    for row_no, row in enumerate(frame.to_dict("records"), start=1):
        oid = _text(row.get("owner_id"))
        if oid is None:
            issues.append(Issue("owner_id is empty", row=row_no, column="owner_id", source=name))
            continue
        email, hook = _text(row.get("email")), _text(row.get("webhook"))
        if email is not None and "@" not in email:
            issues.append(Issue("not an e-mail address", row=row_no, column="email", value=email, source=name))
        if hook is not None and not hook.startswith(("http://", "https://")):
            issues.append(Issue("webhook must be an http(s) URL", row=row_no, column="webhook",
                                value=hook, source=name))
        record = owners.setdefault(oid, {"name": None, "email": None, "webhook": None, "is_default": False})
        for key, value in (("name", _text(row.get("name"))), ("email", email), ("webhook", hook)):
            if value is not None:
                record[key] = value
        if (_text(row.get("default")) or "").lower() in _TRUE:
            record["is_default"] = True
        scope = (_text(row.get("store_id")), _text(row.get("product_id")))
        if scope == (None, None):
            continue
        if scope in scopes and scopes[scope][0] != oid:
            first = scopes[scope]
            issues.append(Issue(f"scope {scope} already owned by '{first[0]}' (row {first[1]})",
                                row=row_no, column="store_id", value=oid, source=name))
            continue
        scopes[scope] = (oid, row_no)
    if default is not None:
        if default not in owners:
            issues.append(Issue("default owner is not in the file", column="owner_id", value=default, source=name))
        for oid, record in owners.items():
            record["is_default"] = oid == default
    defaults = [oid for oid, r in owners.items() if r["is_default"]]
    if len(defaults) > 1:
        issues.append(Issue(f"several default owners: {defaults}", column="default", source=name))
    if issues:
        msg = f"{len(issues)} invalid rows in '{name}'"
        raise DataValidationError(msg, issues)
    with store.session() as session:
        if defaults:
            for other in session.scalars(select(Owner).where(Owner.is_default.is_(True))):
                other.is_default = False
        for oid, record in owners.items():
            owner = session.get(Owner, oid) or Owner(owner_id=oid, is_default=False)
            owner.name = record["name"]  # type: ignore[assignment]
            owner.email = record["email"]  # type: ignore[assignment]
            owner.webhook = record["webhook"]  # type: ignore[assignment]
            owner.is_default = bool(record["is_default"])
            session.add(owner)
        session.flush()
        # a file states the scopes of the owners it names: replace theirs, and move re-assigned scopes
        session.execute(delete(OwnerScope).where(OwnerScope.owner_id.in_(list(owners))))
        for (store_id, product_id), (oid, _) in scopes.items():
            clash = select(OwnerScope).where(
                OwnerScope.store_id.is_(None) if store_id is None else OwnerScope.store_id == store_id,
                OwnerScope.product_id.is_(None) if product_id is None else OwnerScope.product_id == product_id,
            )
            for old in session.scalars(clash):
                session.delete(old)
            session.flush()
            session.add(OwnerScope(owner_id=oid, store_id=store_id, product_id=product_id))
    return OwnersReport(owners=len(owners), scopes=len(scopes), default_owner=defaults[0] if defaults else None)


def list_owners(store: AppStore) -> pd.DataFrame:
    """Owners with their scopes, one row per scope (owners without a scope: one row with nulls)."""
    with store.session() as session:
        rows = session.execute(
            select(Owner.owner_id, Owner.name, Owner.email, Owner.webhook, Owner.is_default,
                   OwnerScope.store_id, OwnerScope.product_id)
            .outerjoin(OwnerScope, OwnerScope.owner_id == Owner.owner_id)
            .order_by(Owner.owner_id, OwnerScope.store_id, OwnerScope.product_id)
        ).all()
    columns = ["owner_id", "name", "email", "webhook", "is_default", "store_id", "product_id"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def owner_lookup(session: Session) -> Callable[[Any, Any], str | None]:
    """A function (store_id, product_id) -> owner_id: store+product, store, product, then the default owner."""
    scopes = session.execute(select(OwnerScope.store_id, OwnerScope.product_id, OwnerScope.owner_id)).all()
    pair: dict[tuple[str | None, str | None], str] = {
        (s, p): o for s, p, o in scopes if s is not None and p is not None}
    by_store: dict[str | None, str] = {s: o for s, p, o in scopes if s is not None and p is None}
    by_product: dict[str | None, str] = {p: o for s, p, o in scopes if s is None and p is not None}
    default = session.scalars(select(Owner.owner_id).where(Owner.is_default.is_(True)).order_by(Owner.owner_id)).first()

    def lookup(store_id: Any, product_id: Any) -> str | None:
        s = None if store_id is None else str(store_id)
        p = None if product_id is None else str(product_id)
        return pair.get((s, p)) or by_store.get(s) or by_product.get(p) or default

    return lookup
