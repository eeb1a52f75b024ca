"""Plain pvlib ModelChain reference of the fleet kernel, one plant at a time.

This is the test oracle for ``simulate.kernel`` and the baseline of ``benchmarks/bench_kernel.py``:
readable, slow (~65 ms per plant-year), and configured exactly as docs/contracts.md's
"Simulation model chain" says. It is not used in production paths.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from pvlib.location import Location
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import PVSystem, pvwatts_losses
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

from telemetry.errors import InputError

__all__ = [
    "DEFAULT_LOSSES_PCT",
    "WEATHER_COLUMNS",
    "build_modelchain",
    "losses_parameters",
    "modelchain_reference",
]

WEATHER_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")
"""Weather columns handed to ModelChain; others (``pressure``, ``albedo``) are left out so that
pressure comes from the altitude and albedo is pvlib's default 0.25, as in the kernel."""

_SAPM_BY_RACKING = {
    "open_rack": TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"],
    "close_mount": TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"],
}
DEFAULT_LOSSES_PCT: float = float(pvwatts_losses())
"""Total of pvlib's default PVWatts losses (≈ 14.08). [%]"""
_LOSS_NAMES = (
    "soiling",
    "shading",
    "snow",
    "mismatch",
    "wiring",
    "connections",
    "lid",
    "nameplate_rating",
    "age",
    "availability",
)


def losses_parameters(losses_pct: float) -> dict[str, float] | None:
    """PVWatts loss components whose total is ``losses_pct`` [%]; None keeps pvlib's defaults."""
    if losses_pct == DEFAULT_LOSSES_PCT:
        return None
    return {**dict.fromkeys(_LOSS_NAMES, 0.0), "availability": float(losses_pct)}


def build_modelchain(plant: Mapping[str, object], transposition: str = "haydavies") -> ModelChain:
    """ModelChain for one plant, configured as the fleet kernel's model chain.

    Parameters
    ----------
    plant : mapping
        Keys ``latitude``, ``longitude`` [degree], ``altitude_m`` [m], ``dc_kwp`` [kWp],
        ``ac_kw`` [kW], ``tilt_deg``, ``azimuth_deg`` [degree]; optional ``racking``
        ('open_rack' | 'close_mount'), ``gamma_pdc_per_c`` [1/°C] (default -0.004),
        ``losses_pct`` [%] (default ``DEFAULT_LOSSES_PCT``).
    transposition : {'haydavies', 'perez'}
        Sky diffuse model.

    Returns
    -------
    pvlib.modelchain.ModelChain
    """
    try:
        racking = str(plant.get("racking", "open_rack"))
        system = PVSystem(
            surface_tilt=float(plant["tilt_deg"]),  # type: ignore[arg-type]
            surface_azimuth=float(plant["azimuth_deg"]),  # type: ignore[arg-type]
            module_parameters={
                "pdc0": float(plant["dc_kwp"]) * 1000,  # type: ignore[arg-type]
                "gamma_pdc": float(plant.get("gamma_pdc_per_c", -0.004)),  # type: ignore[arg-type]
            },
            inverter_parameters={
                "pdc0": float(plant["ac_kw"]) * 1000 / 0.96,  # type: ignore[arg-type]
                "eta_inv_nom": 0.96,
            },
            temperature_model_parameters=_SAPM_BY_RACKING[racking],
            losses_parameters=losses_parameters(float(plant.get("losses_pct", DEFAULT_LOSSES_PCT))),  # type: ignore[arg-type]
        )
        location = Location(
            float(plant["latitude"]),  # type: ignore[arg-type]
            float(plant["longitude"]),  # type: ignore[arg-type]
            tz="UTC",
            altitude=float(plant["altitude_m"]),  # type: ignore[arg-type]
        )  # type: ignore[arg-type]
    except KeyError as exc:
        raise InputError(f"plant: missing or unknown value {exc}") from exc
    return ModelChain(
        system,
        location,
        dc_model="pvwatts",
        ac_model="pvwatts",
        aoi_model="physical",
        spectral_model="no_loss",
        temperature_model="sapm",
        losses_model="pvwatts",
        transposition_model=transposition,
        solar_position_method="nrel_numpy",
        airmass_model="kastenyoung1989",
    )


_HALF_HOUR = pd.Timedelta(minutes=30)


def modelchain_reference(
    plant: Mapping[str, object],
    weather: pd.DataFrame,
    transposition: str = "haydavies",
    interval_shift: pd.Timedelta = _HALF_HOUR,
) -> pd.Series:
    """AC power of one plant by pvlib ModelChain, for weather labelled at interval end.

    The chain is evaluated at ``label − interval_shift`` (the interval midpoint for hourly data),
    in UTC, and the results are returned on the original labels.

    Parameters
    ----------
    plant : mapping
        See :func:`build_modelchain`.
    weather : pandas.DataFrame
        Columns ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C], ``wind_speed`` [m/s];
        tz-aware DatetimeIndex of interval-end labels.
    transposition : {'haydavies', 'perez'}
        Sky diffuse model.
    interval_shift : pandas.Timedelta, default 30 minutes
        Label minus evaluation instant.

    Returns
    -------
    pandas.Series
        ``ac_power_w`` on ``weather.index``. [W]
    """
    index = weather.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise InputError("weather: needs a tz-aware DatetimeIndex of interval-end labels")
    missing = [c for c in WEATHER_COLUMNS if c not in weather.columns]
    if missing:
        raise InputError(f"weather: missing column(s) {missing}")
    frame = weather.loc[:, list(WEATHER_COLUMNS)].astype(float)
    frame.index = index.tz_convert("UTC") - interval_shift
    mc = build_modelchain(plant, transposition)
    mc.run_model(frame)
    return pd.Series(mc.results.ac.to_numpy(), index=index, name="ac_power_w")
