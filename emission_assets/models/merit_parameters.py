"""The merit-order model's calibrated parameters: ``emission_assets/data/merit_order.yaml`` as an immutable object.

Values live in the versioned file (with unit and source each), not in code, so a calibration change is a reviewed
diff of one file; :meth:`MeritParameters.replace` varies one parameter for a sensitivity run.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emission_assets import sourced_csv
from emission_assets.errors import UserInputError
from emission_assets.sourced_csv import cell_error

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PARAMETERS_PATH = DATA_DIR / "merit_order.yaml"

FUELS = ("lignite", "hard_coal", "natural_gas_ccgt", "natural_gas_other", "oil")
# The SMARD type each fuel reports under, and the price-table commodity it buys (lignite: a parameter).
PRODUCTION_TYPE_OF_FUEL = {
    "lignite": "lignite", "hard_coal": "hard_coal", "natural_gas_ccgt": "natural_gas",
    "natural_gas_other": "natural_gas", "oil": "other_conventional",
}
COMMODITY_OF_FUEL = {"hard_coal": "hard_coal", "natural_gas_ccgt": "natural_gas", "natural_gas_other": "natural_gas",
                     "oil": "oil"}
# The SMARD types whose observed output the flexible stack serves (the residual), each with a must-run level.
RESIDUAL_TYPES = ("lignite", "hard_coal", "natural_gas")
UNIT_COLUMNS = ("unit_id", "name", "fuel", "production_type", "capacity_net_mw", "efficiency", "efficiency_source",
                "commissioned_year", "shutdown_year", "eic_code_block", "network_operator")

Share = Field(ge=0.0, le=1.0)


def _per_key(values: dict[str, float], keys: tuple[str, ...], what: str) -> dict[str, float]:
    missing = [k for k in keys if k not in values]
    unknown = [k for k in values if k not in keys]
    if missing or unknown:
        raise ValueError(f"{what} needs exactly the keys {', '.join(keys)}"
                         + (f"; missing {', '.join(missing)}" if missing else "")
                         + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    return values


class MeritParameters(BaseModel):
    """The parameters (values only; units and sources are in the yaml). Frozen: use :meth:`replace`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    plant_units_file: str
    national_region: str = Field(min_length=1)
    ccgt_min_efficiency: float = Field(gt=0.0, lt=1.0)
    require_eic_code: bool
    min_efficiency: dict[str, float]
    lignite_fuel_cost: float = Field(ge=0.0)
    must_run_quantile: dict[str, float]
    availability: dict[str, float]
    availability_quantile: dict[str, float | None]
    variable_om: dict[str, float]
    co2_factor: dict[str, float]

    @field_validator("must_run_quantile")
    @classmethod
    def _must_run(cls, value: dict[str, float]) -> dict[str, float]:
        _per_key(value, RESIDUAL_TYPES, "must_run_quantile")
        if any(not 0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("must_run_quantile values must lie in [0, 1]")
        return value

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: dict[str, float]) -> dict[str, float]:
        _per_key(value, FUELS, "availability")
        if any(not 0.0 < v <= 1.0 for v in value.values()):
            raise ValueError("availability values must lie in (0, 1]")
        return value

    @field_validator("availability_quantile")
    @classmethod
    def _availability_quantile(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        _per_key(value, RESIDUAL_TYPES, "availability_quantile")
        if any(v is not None and not 0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("availability_quantile values must lie in [0, 1] (or be null: no derating from the data)")
        return value

    @field_validator("min_efficiency")
    @classmethod
    def _min_efficiency(cls, value: dict[str, float]) -> dict[str, float]:
        _per_key(value, FUELS, "min_efficiency")
        if any(not 0.0 <= v < 1.0 for v in value.values()):
            raise ValueError("min_efficiency values must lie in [0, 1)")
        return value

    @field_validator("variable_om", "co2_factor")
    @classmethod
    def _per_fuel(cls, value: dict[str, float], info) -> dict[str, float]:
        _per_key(value, FUELS, info.field_name)
        if any(v < 0.0 for v in value.values()):
            raise ValueError(f"{info.field_name} values must not be negative")
        return value

    def replace(self, **changes: Any) -> MeritParameters:
        """A validated copy with some parameters changed; a dict parameter may be given partly
        (``replace(availability={"lignite": 0.8})`` keeps the other fuels)."""
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return MeritParameters.model_validate(data)

    @property
    def plant_units_path(self) -> Path:
        path = Path(self.plant_units_file)
        return path if path.is_absolute() else DATA_DIR / path


def _one_line(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{path}: parameters.{where}: {first['msg']}{more}"


def load_parameters(path: Path | str | None = None) -> MeritParameters:
    """The parameters of ``path`` (default: the committed ``merit_order.yaml``); a bad file raises
    :class:`UserInputError` naming the file and the key."""
    path = Path(path) if path is not None else PARAMETERS_PATH
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserInputError(f"{path}: cannot read the merit-order parameters: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict) or not isinstance(document.get("parameters"), dict):
        raise UserInputError(f"{path}: expected a mapping with 'version' and 'parameters'")
    values: dict[str, Any] = {"version": document.get("version")}
    for key, entry in document["parameters"].items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise UserInputError(f"{path}: parameters.{key}: expected a mapping with value, unit and source")
        absent = [field for field in ("unit", "source") if not entry.get(field)]
        if absent:
            raise UserInputError(f"{path}: parameters.{key}: missing {' and '.join(absent)}")
        values[key] = entry["value"]
    try:
        return MeritParameters.model_validate(values)
    except ValidationError as error:
        if error.errors()[0]["loc"] == ("version",):
            raise UserInputError(f"{path}: version: {error.errors()[0]['msg']}") from None
        raise UserInputError(_one_line(path, error)) from None


@lru_cache(maxsize=1)
def committed_parameters() -> MeritParameters:
    return load_parameters()


def read_units(path: Path) -> list[dict]:
    """The unit table's rows, typed; a bad row raises :class:`UserInputError` naming file, line and column."""
    try:
        return [_unit(path, line, raw) for line, raw in sourced_csv.rows(path, UNIT_COLUMNS)]
    except OSError as error:
        raise UserInputError(f"{path}: cannot read the plant unit table: {error.strerror}") from None
    except ValueError as error:
        raise UserInputError(str(error)) from None


def _unit(path: Path, line: int, raw: dict[str, str]) -> dict:
    column = "fuel"
    try:
        if raw["fuel"] not in FUELS:
            raise ValueError(f"unknown fuel {raw['fuel']!r}; known: {', '.join(FUELS)}")
        column = "capacity_net_mw"
        capacity = float(raw["capacity_net_mw"])
        column = "efficiency"
        efficiency = float(raw["efficiency"])
        if not 0.0 < efficiency < 1.0:
            raise ValueError(f"efficiency {efficiency} must lie in (0, 1)")
        column = "commissioned_year"
        commissioned = int(raw["commissioned_year"])
        column = "shutdown_year"
        shutdown = int(raw["shutdown_year"]) if raw["shutdown_year"] else None
    except ValueError as error:
        raise cell_error(path, line, column, str(error)) from None
    return {"unit_id": raw["unit_id"], "fuel": raw["fuel"], "capacity_net_mw": capacity, "efficiency": efficiency,
            "commissioned_year": commissioned, "shutdown_year": shutdown,
            "eic_code_block": raw["eic_code_block"] or None}
