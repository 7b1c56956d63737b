"""Charts label every group (issue 13): the page's interval chart keeps every row label in
full, and so does the PDF's."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]


def _panel_script():
    import pandas as pd

    from ui import fairness_panel
    from workbench.fairness import AuditSpec, run_audit

    frame = pd.read_csv(REPO_PATH / "fixtures" / "early_warning_outputs.csv")
    spec = AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["sex", "address", "internet"], n_boot=100)
    fairness_panel._charts(run_audit(frame, spec))


def test_every_group_has_its_row_label_on_the_page():
    at = AppTest.from_function(_panel_script, default_timeout=120)
    at.session_state["lang"] = "en"
    import builtins

    builtins.REPO_PATH = REPO  # the function runs as its own script; give it the repository path
    try:
        at.run()
    finally:
        del builtins.REPO_PATH
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    assert charts, "interval charts drawn"
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        layers = spec.get("layer") or [spec]
        axis = layers[0]["encoding"]["y"]["axis"]
        assert axis["labelLimit"] == 0 and axis["labelOverlap"] is False
        groups = {row["group"] for ds in chart.proto.datasets for row in _rows(ds)} or None
        if groups is not None:
            assert {"sex=M", "address=rural", "internet=no"} <= groups, groups


def _rows(dataset):
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")


def test_the_pdf_chart_draws_every_group_label_in_full():
    from reportlab.graphics.shapes import String

    from workbench.decision import report_pdf as rp

    groups = ["sex=F", "sex=M", "address=urban", "address=rural", "internet=yes", "internet=no",
              "sex=M, address=rural, internet=no"]
    chart = rp.RateChart(title="Selection rate", reference=0.5, groups=[
        rp.GroupRate(group=g, value=0.4 + i / 50, ci_low=0.3, ci_high=0.6, n=40 + i) for i, g in enumerate(groups)])
    rp.register_fonts()
    drawing = rp._rate_chart(chart, "en", 170 * rp.mm)
    texts = [s.text for s in drawing.contents if isinstance(s, String)]
    assert all(g in texts for g in groups), texts
