"""AI-safe Workbench: the domain of the NAE's review of AI tools for education.

Registry database and event log (``db``), accounts and permissions (``auth``,
``permissions``), vendor intake (``submissions``, ``reader``, ``storage``), expert review
(``checklists``, ``rules``, ``reviews``), bias and fairness tests (``fairness``,
``fairness_runs``), decisions, labels and signed PDFs (``decisions``, ``labels``,
``report_pdf``, ``signing``, ``pdf_verify``) and the public side (``public``, ``consent``,
``complaints``, ``monitoring``, ``opendata``). No module here imports Streamlit.
"""

from .errors import NotFound, PermissionDenied, ValidationFailed, WorkbenchError
from .services import Workbench

__version__ = "0.1.0"

__all__ = ["NotFound", "PermissionDenied", "ValidationFailed", "Workbench", "WorkbenchError", "__version__"]
