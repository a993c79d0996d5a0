"""SPECTRA: carbon intelligence for cloud workloads, on a Rust engine.

>>> import spectra
>>> s = spectra.Spectra.demo()                       # the bundled data, imported, in memory
>>> s.rank_regions(current_region="aws-us-east-1").rows[0].region   # doctest: +SKIP

Every operation of the Rust engine has the same name (``import`` is a Python keyword, so the
import is ``import_()``). Rows are typed, read-only classes; each table call has a ``*_df`` twin
returning a polars DataFrame and a ``*_table`` twin returning an Arrow table (readable by
``polars.DataFrame``, ``pyarrow.table`` or anything speaking the Arrow PyCapsule interface).
"""

from spectra._spectra import (
    HAS_DUCKDB,
    Anomaly,
    BudgetStatus,
    CarbonIntensityHour,
    Constraints,
    CurrentFigures,
    EmissionsRow,
    Health,
    ImportCounts,
    ImportReport,
    Instance,
    JobRecommendation,
    LatencySample,
    Migration,
    RankedRegion,
    Ranking,
    RegionSignal,
    Saving,
    SettingView,
    SignalHealth,
    Spectra,
    StepCount,
    Table,
    Weights,
    Window,
    WindowChoice,
    Workload,
)
from spectra.exceptions import (
    AuthError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    RateLimitedError,
    SpectraError,
)

__version__ = "0.1.0"

__all__ = [
    "HAS_DUCKDB",
    "Anomaly",
    "AuthError",
    "BudgetStatus",
    "CarbonIntensityHour",
    "ConfigError",
    "ConflictError",
    "Constraints",
    "CurrentFigures",
    "EmissionsRow",
    "Health",
    "ImportCounts",
    "ImportReport",
    "Instance",
    "InvalidInputError",
    "JobRecommendation",
    "LatencySample",
    "Migration",
    "NotFoundError",
    "NotSupportedError",
    "RankedRegion",
    "Ranking",
    "RateLimitedError",
    "RegionSignal",
    "Saving",
    "SettingView",
    "SignalHealth",
    "Spectra",
    "SpectraError",
    "StepCount",
    "Table",
    "Weights",
    "Window",
    "WindowChoice",
    "Workload",
]
