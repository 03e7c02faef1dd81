"""The one place a user's view is narrowed to the stores they may see.

Every read of cases, survey responses, feedback, customers and store figures the server makes goes through a
:class:`Scope` built from the requesting user: admins and analysts see every store; a store
manager sees the rows whose ``store_id`` is one of their grants and nothing else (a case or a
response without a store is nobody's store and stays hidden from them).  Routers and pages never
filter by store themselves; they ask the scope, so a new page cannot forget the rule.

Out-of-scope ids answer 404 exactly like ids that do not exist (an id's existence is not leaked);
asking for a store filter outside one's grants answers 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from clvlab.cases.model import CaseNotFoundError
from clvlab.errors import ClvlabError
from clvlab.server.auth.accounts import Principal
from clvlab.store import Case, SurveyResponse

#: roles that see every store
ALL_STORES_ROLES = frozenset({"admin", "analyst"})


class ForbiddenError(ClvlabError):
    """The user's role or grants do not allow the request (HTTP 403)."""


class NotFoundError(ClvlabError, LookupError):
    """No such object, or none the user may see (HTTP 404)."""


@dataclass(frozen=True)
class Scope:
    """What one user may see: every store (``stores is None``) or the granted ones."""

    user: Principal

    @property
    def stores(self) -> frozenset[str] | None:
        """The granted stores of a store manager; None for roles that see every store."""
        return None if self.user.role in ALL_STORES_ROLES else frozenset(self.user.stores)

    def require_role(self, *roles: str) -> None:
        """:class:`ForbiddenError` unless the user has one of ``roles``."""
        if self.user.role not in roles:
            msg = f"'{self.user.name}' ({self.user.role}) may not do this; it needs the role {' or '.join(roles)}"
            raise ForbiddenError(msg)

    def require_every_store(self, what: str) -> None:
        """:class:`ForbiddenError` for a user who does not see every store: ``what`` is a company-wide
        figure (unit economics, the model fit, experiments) that no store's rows can be cut out of."""
        if self.stores is not None:
            msg = f"'{self.user.name}' may not see {what}: company-wide figures are shown to admins and analysts only"
            raise ForbiddenError(msg)

    def check_stores(self, wanted: Iterable[str]) -> None:
        """:class:`ForbiddenError` when a requested store filter names a store outside the grants."""
        allowed = self.stores
        if allowed is None:
            return
        outside = sorted(set(wanted) - allowed)
        if outside:
            msg = f"'{self.user.name}' may not see store {outside[0]} (granted: {', '.join(sorted(allowed))})"
            raise ForbiddenError(msg)

    # ------------------------------------------------------------------ application store
    def cases(self, query: Select[Any] | None = None, *, stores: Iterable[str] | None = None) -> Select[Any]:
        """``query`` (default: every case) narrowed to the user's stores, and to ``stores`` when the
        request asks for some (403 for one outside the grants)."""
        return self._by_store(Case, query, stores)

    def responses(self, query: Select[Any] | None = None, *, stores: Iterable[str] | None = None) -> Select[Any]:
        """``query`` (default: every survey response of the application store) narrowed like
        :meth:`cases`: a response without a store is nobody's store."""
        return self._by_store(SurveyResponse, query, stores)

    def _by_store(self, model: Any, query: Select[Any] | None, stores: Iterable[str] | None) -> Select[Any]:
        query = select(model) if query is None else query
        allowed = self._allowed(stores)
        return query if allowed is None else query.where(model.store_id.in_(sorted(allowed)))

    def _allowed(self, wanted: Iterable[str] | None) -> frozenset[str] | None:
        """The stores a query may cover: the grants, cut to ``wanted`` (checked) when given."""
        if not wanted:
            return self.stores
        chosen = frozenset(wanted)
        self.check_stores(chosen)
        return chosen

    def case(self, session: Session, case_id: int) -> Case:
        """One case the user may see; :class:`CaseNotFoundError` (404) otherwise."""
        found = session.scalars(self.cases().where(Case.id == int(case_id))).first()
        if found is None:
            msg = f"no case {case_id}"
            raise CaseNotFoundError(msg)
        return found

    # ------------------------------------------------------------------ analytics workspace
    def _narrow(self, table: Any, stores: Iterable[str] | None = None) -> Any:
        allowed = self._allowed(stores)
        if allowed is None:
            return table
        if "store_id" not in table.columns:  # rows without a store belong to no manager
            return table.filter(False)
        return table.filter(table.store_id.cast("string").isin(sorted(allowed)))

    def feedback(self, ws: Any, *, stores: Iterable[str] | None = None) -> Any:
        """The workspace's feedback (Ibis) the user may see (of ``stores`` when asked, checked)."""
        return self._narrow(ws.table("feedback"), stores)

    def customer_stores(self, ws: Any) -> Any:
        """(customer_id, store_id) pairs that place a customer in a store: the customers table's
        home store, else the stores of the customer's transactions."""
        tables = ws.tables()
        for name in ("customers", "transactions"):
            if name in tables and "store_id" in ws.table(name).columns:
                t = ws.table(name)
                return t.select(customer_id=t.customer_id.cast("string"), store_id=t.store_id.cast("string"))
        msg = "the workspace places no customer in a store (no store_id in customers or transactions)"
        raise NotFoundError(msg)

    def scores(self, ws: Any, *, stores: Iterable[str] | None = None) -> Any:
        """The ``scores`` table (Ibis) with each customer's ``store_id``, narrowed to the user's stores
        (every scored customer, ``store_id`` null when unplaced, for roles that see every store)."""
        from clvlab.derived import read_derived

        return self.by_customer(ws, read_derived(ws, "scores", columns=("clv",), where="scores by store"), stores=stores)

    def by_customer(self, ws: Any, table: Any, *, stores: Iterable[str] | None = None) -> Any:
        """A table keyed by ``customer_id`` (Ibis) with each customer's home ``store_id`` added,
        narrowed to the user's stores (and to ``stores`` when asked, checked)."""
        table = table.mutate(customer_id=table.customer_id.cast("string"))
        if "store_id" in table.columns:
            table = table.drop("store_id")
        try:
            places = self.customer_stores(ws)
        except NotFoundError:
            return self._narrow(table.mutate(store_id=ibis_null()), stores)
        home = places.group_by("customer_id").aggregate(store_id=places.store_id.min())
        return self._narrow(table.left_join(home, "customer_id").select(*table.columns, home.store_id), stores)

    def table(self, ws: Any, name: str, *, stores: Iterable[str] | None = None) -> Any:
        """Any workspace table the user may read, narrowed: by its own ``store_id``, else by its
        customers' home stores (``store_id`` added); a table of neither (company-wide figures such as
        ``cohorts`` or ``economics``) only for roles that see every store, else :class:`ForbiddenError`."""
        t = ws.table(name)
        if "store_id" in t.columns:
            return self._narrow(t, stores)
        if "customer_id" in t.columns:
            return self.by_customer(ws, t, stores=stores)
        if self._allowed(stores) is not None:
            msg = f"'{self.user.name}' may not see the company-wide table '{name}'"
            raise ForbiddenError(msg)
        return t

    def require_customer(self, ws: Any, customer_id: str) -> None:
        """:class:`NotFoundError` (404) unless the customer is in the workspace and in the user's stores."""
        if self.stores is None:
            known = any(name in ws.tables() and _has(ws.table(name), customer_id)
                        for name in ("customers", "transactions", "scores"))
        else:
            pairs = self._narrow(self.customer_stores(ws))
            known = _has(pairs, customer_id)
        if not known:
            msg = f"no customer '{customer_id}'"
            raise NotFoundError(msg)


def ibis_null() -> Any:
    """A null string column value (Ibis)."""
    import ibis

    return ibis.null().cast("string")


def _has(table: Any, customer_id: str) -> bool:
    hit = table.filter(table.customer_id.cast("string") == customer_id).limit(1).count().execute()
    return int(hit) > 0
