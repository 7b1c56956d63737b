"""The versioned fairness policy: thresholds per risk tier, loaded from YAML."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ValidationFailed, WorkbenchError

Tier = Literal["prohibited", "high", "limited", "minimal"]
TIERS: tuple[str, ...] = ("prohibited", "high", "limited", "minimal")
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "policies" / "fairness.yaml"

_POLICY_INVALID = "fairness.error.policy_invalid"
_POLICY_PROBLEM = "fairness.error.policy_problem"


class PolicyError(ValidationFailed):
    """The policy file cannot be read or does not match the schema."""


class TierThresholds(BaseModel):
    """Thresholds for one risk tier (units are explained in ``policies/fairness.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_group_size: int = Field(ge=1)
    four_fifths_ratio: float = Field(gt=0, le=1)
    max_demographic_parity_difference: float = Field(ge=0, le=1)
    max_equalized_odds_difference: float = Field(ge=0, le=1)
    max_equal_opportunity_difference: float = Field(ge=0, le=1)
    max_accuracy_difference: float = Field(ge=0, le=1)
    # Added in policy 2026.12-1; the default keeps results frozen under older policies readable.
    max_predictive_parity_difference: float = Field(0.10, ge=0, le=1)
    max_auc_difference: float = Field(ge=0, le=1)
    max_score_bias: float = Field(ge=0)
    max_mae_difference: float = Field(ge=0)
    max_refusal_gap: float = Field(ge=0, le=1)
    max_length_gap: float = Field(ge=0)
    max_score_gap: float = Field(ge=0)
    max_rating_gap: float = Field(ge=0)


class FairnessPolicy(BaseModel):
    """A versioned set of thresholds, one entry per risk tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    tiers: dict[Tier, TierThresholds]
    # Counterfactual attribute -> its variants in order; the first one present is the
    # reference variant of that attribute (e.g. sex: [boy, girl]).
    counterfactual_references: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_tier(self) -> FairnessPolicy:
        missing = [t for t in TIERS if t not in self.tiers]
        if missing:
            raise ValueError(f"missing tiers: {', '.join(missing)}")
        return self

    def thresholds(self, tier: str) -> TierThresholds:
        return self.tiers[tier]  # type: ignore[index]


@lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int) -> FairnessPolicy:
    # Keyed on the modification time, so an edited policy file is read again.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return FairnessPolicy.model_validate(data)


def load_policy(path: str | Path | None = None) -> FairnessPolicy:
    """Read and validate a fairness policy file.

    Parameters
    ----------
    path:
        A YAML file; the packaged ``workbench/policies/fairness.yaml`` by default.

    Returns
    -------
    FairnessPolicy

    Raises
    ------
    PolicyError
        The file is not YAML or breaks the schema; every problem is listed as
        ``location: problem``.
    """
    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        return _load_cached(path.resolve(), path.stat().st_mtime_ns)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(_POLICY_INVALID, path=str(path),
                          problems=[WorkbenchError(_POLICY_PROBLEM, location="-", problem=str(exc))]) from exc
    except ValidationError as exc:
        problems = [
            WorkbenchError(_POLICY_PROBLEM, location=".".join(str(p) for p in err["loc"]) or "-", problem=err["msg"])
            for err in exc.errors()
        ]
        raise PolicyError(_POLICY_INVALID, path=str(path), problems=problems) from exc
