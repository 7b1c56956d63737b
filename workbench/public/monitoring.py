"""The monitoring dashboard's figures: the concept's indicator and the committee's own.

The concept (section 5) counts "AI products that passed conformity assessment" every
year; here that is the number of labels issued per year, by risk tier. Beside it: the
committee's decisions by outcome, the median days from submission to decision, labels
that expire soon and complaints by status. Every table is public (no names of people,
no complaint text) and comes back as a pandas DataFrame with machine column names; the
``table`` helper renames them for a reader in one language, for charts and CSV files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..registry.db import Registry
from ..decision.decisions import label_policy
from ..i18n import t
from ..registry.models import Actor, utcnow
from ..registry.permissions import require

TIER_ORDER = ("high", "limited", "minimal")
OUTCOME_ORDER = ("approve", "approve_with_conditions", "reject", "return")

#: table name -> its columns, each shown through ``pub.col.<column>``.
TABLES: dict[str, tuple[str, ...]] = {
    "indicator": ("year", "tier", "labels"),
    "decisions": ("year", "outcome", "decisions"),
    "time_to_decision": ("year", "decisions", "median_days", "min_days", "max_days"),
    "expiring": ("label_id", "tool_name", "vendor", "tier", "valid_until", "days_left"),
    "complaints": ("status", "complaints"),
}
#: columns whose values are codes shown through a catalogue prefix
_CODED = {"tier": "tier.", "outcome": "pub.outcome.", "status": "complaint_status."}


@dataclass(frozen=True)
class Monitoring:
    """All the dashboard's tables at one moment, each a DataFrame of ``TABLES[name]``."""

    indicator: pd.DataFrame
    decisions: pd.DataFrame
    time_to_decision: pd.DataFrame
    expiring: pd.DataFrame
    complaints: pd.DataFrame
    today: dt.date
    expiry_window_days: int
    median_days_overall: float | None = None

    @property
    def labels_total(self) -> int:
        return int(self.indicator["labels"].sum())

    @property
    def open_complaints(self) -> int:
        rows = self.complaints[self.complaints["status"] == "open"]
        return int(rows["complaints"].sum())


def _indicator(reg: Registry) -> pd.DataFrame:
    rows = reg.query("SELECT CAST(substr(valid_from, 1, 4) AS INTEGER) AS year, tier, count(*) AS labels "
                     "FROM labels GROUP BY 1, 2")
    df = pd.DataFrame(rows, columns=["year", "tier", "labels"])
    if df.empty:
        return df.astype({"year": "int64", "labels": "int64"})
    # Every tier appears in every year, with zeros: a chart with a missing bar misleads.
    years = range(int(df["year"].min()), int(df["year"].max()) + 1)
    full = pd.MultiIndex.from_product([years, TIER_ORDER], names=["year", "tier"])
    df = df.set_index(["year", "tier"]).reindex(full, fill_value=0).reset_index()
    return df.astype({"year": "int64", "labels": "int64"})


def _decisions(reg: Registry) -> pd.DataFrame:
    rows = reg.query("SELECT CAST(substr(decided_at, 1, 4) AS INTEGER) AS year, outcome, count(*) AS decisions "
                     "FROM decisions GROUP BY 1, 2")
    df = pd.DataFrame(rows, columns=["year", "outcome", "decisions"])
    order = {o: i for i, o in enumerate(OUTCOME_ORDER)}
    return df.sort_values(["year", "outcome"], key=lambda s: s.map(order) if s.name == "outcome" else s,
                          ignore_index=True)


def _durations(reg: Registry) -> pd.DataFrame:
    """Days from submission to each final decision (a "return" is not a decision on the tool)."""
    rows = reg.query("SELECT d.decided_at, s.submitted_at FROM decisions d JOIN submissions s "
                     "ON s.id = d.submission_id WHERE d.outcome != 'return' AND s.submitted_at IS NOT NULL")
    df = pd.DataFrame(rows, columns=["decided_at", "submitted_at"])
    decided = pd.to_datetime(df["decided_at"], utc=True, format="ISO8601")
    submitted = pd.to_datetime(df["submitted_at"], utc=True, format="ISO8601")
    return pd.DataFrame({"year": decided.dt.year.astype("int64"),
                         "days": (decided - submitted).dt.total_seconds() / 86400.0})


def _time_to_decision(durations: pd.DataFrame) -> pd.DataFrame:
    if durations.empty:
        return pd.DataFrame(columns=list(TABLES["time_to_decision"]))
    g = durations.groupby("year")["days"]
    out = pd.DataFrame({"decisions": g.size(), "median_days": g.median().round(1), "min_days": g.min().round(1),
                        "max_days": g.max().round(1)}).reset_index()
    return out.astype({"year": "int64", "decisions": "int64"})


def _expiring(reg: Registry, today: dt.date, days: int) -> pd.DataFrame:
    horizon = (today + dt.timedelta(days=days)).isoformat()
    rows = reg.query("SELECT id AS label_id, tool_name, vendor, tier, valid_until FROM labels "
                     "WHERE status = 'active' AND substr(valid_until, 1, 10) >= ? AND substr(valid_until, 1, 10) <= ? "
                     "ORDER BY valid_until, id", (today.isoformat(), horizon))
    df = pd.DataFrame(rows, columns=list(TABLES["expiring"])[:-1])
    df["days_left"] = [(dt.date.fromisoformat(v[:10]) - today).days for v in df["valid_until"]]
    return df.astype({"days_left": "int64"})


def _complaints(reg: Registry) -> pd.DataFrame:
    counts = {r["status"]: r["n"] for r in reg.query("SELECT status, count(*) AS n FROM complaints GROUP BY status")}
    return pd.DataFrame({"status": ["open", "closed"],
                         "complaints": [int(counts.get("open", 0)), int(counts.get("closed", 0))]})


def monitoring(reg: Registry, actor: Actor, *, today: dt.date | None = None,
               within_days: int | None = None) -> Monitoring:
    """The dashboard's tables, public to everyone.

    Parameters
    ----------
    today:
        The day "expiring" is counted from (tests pin it).
    within_days:
        The expiry window; the label policy's warning window (60 days) by default.

    Returns
    -------
    Monitoring
        ``indicator`` (labels issued per year and tier), ``decisions`` (per year and
        outcome), ``time_to_decision`` (median days per year), ``expiring`` and
        ``complaints`` (counts by status).
    """
    require(actor, "registry.search")
    today = today or utcnow().date()
    days = within_days if within_days is not None else label_policy().expiry_warning_days
    durations = _durations(reg)
    return Monitoring(indicator=_indicator(reg), decisions=_decisions(reg),
                      time_to_decision=_time_to_decision(durations), expiring=_expiring(reg, today, days),
                      complaints=_complaints(reg), today=today, expiry_window_days=days,
                      median_days_overall=None if durations.empty else round(float(durations["days"].median()), 1))


def table(df: pd.DataFrame, name: str, lang: str, *, rename: bool = True) -> pd.DataFrame:
    """A copy for people: coded values (tier, outcome, status) and column names in ``lang``.

    ``rename=False`` keeps the machine column names (charts refer to columns by name).
    """
    out = df.copy()
    for column, prefix in _CODED.items():
        if column in out.columns:
            out[column] = [t(prefix + str(v), lang) for v in out[column]]
    return out.rename(columns={c: t(f"pub.col.{c}", lang) for c in TABLES[name]}) if rename else out


def column_title(column: str, lang: str) -> str:
    """A column's name in ``lang`` (axis and legend titles)."""
    return t(f"pub.col.{column}", lang)


def to_csv(df: pd.DataFrame, name: str, lang: str) -> bytes:
    """The table as CSV in UTF-8 with a BOM, so Excel in Kazakhstan opens Cyrillic correctly."""
    from ..textsafe import safe_frame  # text cells that would run as formulas get a leading '

    return safe_frame(table(df, name, lang)).to_csv(index=False).encode("utf-8-sig")


__all__ = ["Monitoring", "TABLES", "TIER_ORDER", "OUTCOME_ORDER", "monitoring", "table", "column_title", "to_csv"]
