"""Registry search (filters, Kazakh case and order, paging, speed-safe SQL) and label pages."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from workbench.decision import labels
from workbench.public import visitor as public
from workbench.errors import NotFound, WorkbenchError
from workbench.registry.models import PUBLIC, SYSTEM, Role, make_bin
from workbench.services import Workbench

from test_decisions import TODAY, Committee  # the real decision path: a label with a signed PDF

_IDS = {"n": 0}


def seed_owner(reg) -> dict:
    """One organisation, vendor and secretary user for direct label rows."""
    org = reg.insert("organisations", {"name": "Seed LLP", "bin": make_bin("30000000001"), "created_at": "2026-01-01"})
    user = reg.insert("users", {"username": "seed", "display_name": "Seed", "role": "vendor", "org_id": org,
                                "password_hash": "x", "created_at": "2026-01-01"})
    return {"org": org, "user": user}


def add_label(reg, owner: dict, *, tool: str, vendor: str = "Seed LLP", tier: str = "high", status: str = "active",
              grades=(5, 6), subjects=("mathematics",), languages=("kk", "ru"), valid_from: str = "2026-01-10",
              valid_until: str = "2027-01-10", submitted_at: str | None = "2025-12-01T00:00:00+00:00",
              decided_at: str | None = None, outcome: str = "approve", previous_id: int | None = None) -> str:
    """A label row with its submission and decision, written directly (fast, for search tests)."""
    _IDS["n"] += 1
    n = _IDS["n"]
    sub = reg.insert("submissions", {"org_id": owner["org"], "created_by": owner["user"], "tool_name": tool,
                                     "tool_version": "1.0", "status": "approved", "created_at": "2025-12-01",
                                     "updated_at": "2025-12-01", "submitted_at": submitted_at, "previous_id": previous_id,
                                     "dossier": json.dumps({"tool_name": tool, "description_kk": f"{tool} сипаттамасы",
                                                            "decision_mode": "teacher_confirms",
                                                            "known_limitations": "SECRET-LIMITS"})})
    dec = reg.insert("decisions", {"submission_id": sub, "outcome": outcome, "votes": "[]", "decided_by": owner["user"],
                                   "decided_at": decided_at or f"{valid_from}T10:00:00+00:00"})
    year = int(valid_from[:4])
    label_id = f"KZ-AIS-{year}-{n:06d}"
    reg.insert("labels", {"id": label_id, "year": year, "seq": n, "submission_id": sub, "decision_id": dec,
                          "tool_name": tool, "tool_version": "1.0", "vendor": vendor, "tier": tier,
                          "scope": json.dumps({"grades": list(grades), "subjects": list(subjects),
                                               "languages": list(languages)}, ensure_ascii=False),
                          "conditions": "[]", "valid_from": valid_from, "valid_until": valid_until, "status": status,
                          "created_at": valid_from})
    return label_id


@pytest.fixture
def shelf(reg):
    """Six labels covering every filter; today is 2026-11-22."""
    owner = seed_owner(reg)
    ids = {
        "erte": add_label(reg, owner, tool="Ерте ескерту", vendor="BilimTech ЖШС", tier="high", grades=(8, 9, 10)),
        "alma": add_label(reg, owner, tool="Алма", vendor="Oqu AI", tier="limited", subjects=("reading",),
                          languages=("kk",), valid_from="2025-03-01", valid_until="2028-03-01"),
        "alippe": add_label(reg, owner, tool="Әліппе", vendor="Oqu AI", tier="minimal", subjects=("all subjects",),
                            grades=(1,), valid_from="2026-06-01", valid_until="2029-06-01"),
        "bala": add_label(reg, owner, tool="Бала", vendor="BilimTech ЖШС", tier="high", status="suspended",
                          languages=("ru",), valid_from="2026-02-01"),
        "old": add_label(reg, owner, tool="Zebra", vendor="Zeta", tier="minimal", valid_from="2023-01-01",
                         valid_until="2026-01-01"),
        "chat": add_label(reg, owner, tool="ChatTutor", vendor="Zeta", tier="limited", subjects=("Mathematics",),
                          languages=("en", "ru"), grades=(10, 11), valid_from="2026-09-01", valid_until="2028-09-01"),
    }
    return reg, ids


def names(result) -> list[str]:
    return [label.tool_name for label in result]


@pytest.mark.parametrize("filters,expected", [
    ({"text": "ерте"}, {"Ерте ескерту"}),                      # Kazakh, lower case finds upper case
    ({"text": "ӘЛІП"}, {"Әліппе"}),                             # Kazakh letters fold too
    ({"text": "bilimtech"}, {"Ерте ескерту", "Бала"}),          # the vendor's name
    ({"text": "kz-ais-2023"}, {"Zebra"}),                       # the label number
    ({"vendor": "oqu"}, {"Алма", "Әліппе"}),
    ({"tier": "limited"}, {"Алма", "ChatTutor"}),
    ({"status": "expired"}, {"Zebra"}),                         # derived from the date, not stored
    ({"status": "active"}, {"Ерте ескерту", "Алма", "Әліппе", "ChatTutor"}),
    ({"status": "suspended"}, {"Бала"}),
    ({"language": "en"}, {"ChatTutor"}),
    ({"language": "kk"}, {"Ерте ескерту", "Алма", "Әліппе", "Zebra"}),
    ({"subject": "math"}, {"Ерте ескерту", "Бала", "Zebra", "ChatTutor", "Әліппе"}),  # "all subjects" matches
    ({"subject": "reading"}, {"Алма", "Әліппе"}),
    ({"grade": 10}, {"Ерте ескерту", "ChatTutor"}),
    ({"grade": 1}, {"Әліппе"}),
    ({"tier": "high", "status": "active", "language": "ru"}, {"Ерте ескерту"}),
    ({"subject": "math", "grade": 11, "language": "en"}, {"ChatTutor"}),
    ({"text": "nothing like this"}, set()),
])
def test_search_filters(shelf, filters, expected):
    reg, _ = shelf
    found = public.search_labels(reg, PUBLIC, today=TODAY, **filters)
    assert set(names(found)) == expected
    assert public.count_labels(reg, PUBLIC, today=TODAY, **filters) == len(expected)


@pytest.mark.parametrize("sort,expected", [
    ("tool", ["ChatTutor", "Zebra", "Алма", "Әліппе", "Бала", "Ерте ескерту"]),  # Latin, then а ә б ... е
    ("vendor", ["Бала", "Ерте ескерту", "Алма", "Әліппе", "ChatTutor", "Zebra"]),
    ("newest", ["ChatTutor", "Әліппе", "Бала", "Ерте ескерту", "Алма", "Zebra"]),
    ("expiry", ["Zebra", "Ерте ескерту", "Бала", "Алма", "ChatTutor", "Әліппе"]),
    ("tier", ["Бала", "Ерте ескерту", "ChatTutor", "Алма", "Zebra", "Әліппе"]),
])
def test_sorting(shelf, sort, expected):
    reg, _ = shelf
    assert names(public.search_labels(reg, PUBLIC, sort=sort, today=TODAY)) == expected


def test_unknown_sort_is_refused(shelf):
    reg, _ = shelf
    with pytest.raises(WorkbenchError) as exc:
        public.search_labels(reg, PUBLIC, sort="price; DROP TABLE labels")
    assert exc.value.key == public.BAD_SORT


def test_paging_and_the_page_cap(shelf):
    reg, _ = shelf
    first = public.search_labels(reg, PUBLIC, limit=4, today=TODAY)
    rest = public.search_labels(reg, PUBLIC, limit=4, offset=4, today=TODAY)
    assert len(first) == 4 and len(rest) == 2
    assert set(names(first)).isdisjoint(names(rest))
    owner = {"org": 1, "user": 1}
    for i in range(public.MAX_PAGE + 5):
        add_label(reg, owner, tool=f"Bulk {i:03d}")
    assert len(public.search_labels(reg, PUBLIC, limit=10_000)) == public.MAX_PAGE
    assert public.count_labels(reg, PUBLIC) == public.MAX_PAGE + 5 + 6


def test_text_with_like_wildcards_is_literal(shelf):
    reg, _ = shelf
    assert public.search_labels(reg, PUBLIC, text="%") == []
    assert public.search_labels(reg, PUBLIC, text="_") == []


def test_search_keys_follow_new_labels_and_rollbacks(shelf):
    reg, _ = shelf
    assert public.count_labels(reg, PUBLIC, text="жаңа") == 0
    owner = {"org": 1, "user": 1}
    add_label(reg, owner, tool="Жаңа құрал")  # issued after the keys were built
    assert names(public.search_labels(reg, PUBLIC, text="ЖАҢА")) == ["Жаңа құрал"]
    with pytest.raises(RuntimeError):
        with reg.transaction():
            add_label(reg, owner, tool="Уақытша")
            assert public.count_labels(reg, PUBLIC, text="уақытша") == 1  # seen inside the transaction
            raise RuntimeError("roll back")
    assert public.count_labels(reg, PUBLIC, text="уақытша") == 0
    add_label(reg, owner, tool="Кейінгі")
    assert names(public.search_labels(reg, PUBLIC, text="кейінгі")) == ["Кейінгі"]
    assert public.count_labels(reg, PUBLIC) == 8


def test_status_changes_show_at_once(shelf):
    reg, ids = shelf
    assert public.count_labels(reg, PUBLIC, status="revoked") == 0
    reg.update("labels", ids["alma"], {"status": "revoked"})
    assert names(public.search_labels(reg, PUBLIC, status="revoked")) == ["Алма"]


def test_grade_filter_does_not_match_a_prefix(shelf):
    reg, _ = shelf
    assert public.count_labels(reg, PUBLIC, grade=0) == 0  # not "10"
    assert {label.tool_name for label in public.search_labels(reg, PUBLIC, grade=11)} == {"ChatTutor"}


def test_facets_offer_what_exists(shelf):
    reg, _ = shelf
    f = public.facets(reg, PUBLIC)
    assert f.grades == [1, 5, 6, 8, 9, 10, 11]
    assert "Mathematics" in f.subjects and "reading" in f.subjects
    assert f.vendors == ["BilimTech ЖШС", "Oqu AI", "Zeta"]
    add_label(reg, {"org": 1, "user": 1}, tool="Жаңа", vendor="Әл-Фараби LLP", grades=(12,), subjects=("физика",))
    f = public.facets(reg, PUBLIC)  # a new label refreshes the cached choices
    assert f.vendors[-1] == "Әл-Фараби LLP" and f.grades[-1] == 12 and "физика" in f.subjects


def test_grade_span_reads_as_ranges():
    assert public._grade_span([1, 2, 3, 5]) == "1–3, 5"
    assert public._grade_span([9, 8, 10, 11]) == "8–11"
    assert public._grade_span([4]) == "4"


# --- label pages through the real decision path ---------------------------------------------

@pytest.fixture
def committee(home):
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    yield Committee(wb)
    wb.close()


def test_label_page_in_plain_language(committee):
    record = committee.decide(committee.at_committee(), outcome="approve_with_conditions",
                              conditions=["A teacher confirms every grade"])
    page = public.label_page(committee.wb.registry, PUBLIC, record.label_id, today=TODAY)
    assert page.has_pdf and page.pdf_file_name == f"{record.label_id}.pdf"
    assert page.days_left == 365
    kk, ru = page.scope_lines("kk"), page.scope_lines("ru")
    assert "Сыныптар: 5–6." in kk and "Классы: 5–6." in ru
    assert any("мұғалім" in line.lower() for line in kk)          # the dossier's decision mode, in words
    assert page.condition_lines("en") == ["A school may use the tool only under these conditions (1):",
                                          "A teacher confirms every grade"]
    assert "365" in page.validity_line("ru") and "Жарамды" in page.status_line("kk")
    assert [v.label_id for v in page.history] == [record.label_id] and page.history[0].current
    assert page.describe("ru") == "Описание"
    name, pdf = public.label_pdf_file(committee.wb.registry, PUBLIC, record.label_id)
    assert name == page.pdf_file_name and pdf.startswith(b"%PDF")


def test_label_page_never_carries_confidential_dossier_fields(committee):
    record = committee.decide(committee.at_committee())
    page = public.label_page(committee.wb.registry, PUBLIC, record.label_id, today=TODAY)
    dumped = page.model_dump_json()
    for private in ("Teacher confirms", "Few", "Kazakhstan", "1 year"):  # oversight, limitations, storage, retention
        assert private not in dumped


def test_version_history_and_status_reasons(committee):
    reg = committee.wb.registry
    first = committee.decide(committee.at_committee())
    sub_id = reg.one("SELECT submission_id FROM labels WHERE id = ?", (first.label_id,))["submission_id"]
    second = committee.decide(committee.at_committee(previous_id=sub_id))
    old_page = public.label_page(reg, PUBLIC, first.label_id, today=TODAY)
    new_page = public.label_page(reg, PUBLIC, second.label_id, today=TODAY)
    assert [v.label_id for v in old_page.history] == [first.label_id, second.label_id]
    assert [v.tool_version for v in new_page.history] == ["1.0", "2.0"]
    assert [v.current for v in new_page.history] == [False, True]
    assert old_page.label.status == "superseded"
    assert second.label_id in old_page.status_line("kk") and second.label_id in old_page.status_line("ru")
    labels.change_label(reg, committee.secretary, second.label_id, "suspend", "Complaint about Kazakh answers",
                        today=TODAY)
    suspended = public.label_page(reg, PUBLIC, second.label_id, today=TODAY)
    assert "Complaint about Kazakh answers" in suspended.status_line("en")
    assert "left" not in suspended.validity_line("en")  # no countdown for a label not in force
    labels.change_label(reg, committee.secretary, second.label_id, "reinstate", "Re-review done", today=TODAY)
    expired = public.label_page(reg, PUBLIC, second.label_id, today=dt.date(2030, 1, 1))
    assert expired.label.status == "expired"
    assert expired.days_left < 0 and "ended" in expired.validity_line("en")


def test_unknown_label_page_is_not_found(reg):
    with pytest.raises(NotFound) as exc:
        public.label_page(reg, PUBLIC, "KZ-AIS-2026-999999")
    assert exc.value.key == public.NO_LABEL


def test_every_role_may_search_and_read(shelf, people):
    reg, ids = shelf
    for who in (PUBLIC, people.vendor_b, people.reviewer1, people.secretary, people.admin, SYSTEM):
        assert public.count_labels(reg, who) == 6
        assert public.label_page(reg, who, ids["erte"]).label.tool_name == "Ерте ескерту"
    assert people.vendor_b.role is Role.VENDOR
