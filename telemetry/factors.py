"""Money, fuel and carbon per kWh: the defaults the simulator and the dashboards share, spelled
once, each with its source and date (an assumption where no source fixes it). A default is a
claim: ``tests/telemetry/test_factors.py`` names the source to re-check when one changes.

- **Tariff** :data:`TARIFF_TOMAN_PER_KWH`: 2,500 toman/kWh, the rate reported for ordinary
  household plants over 20 years (IRIB News Hamedan, 2025-10-03). It is the first contract year
  of the default category ``household`` of the tariff table (:mod:`telemetry.tariffs`), which
  also holds the other categories, the contract years and their sources.
- **Gas avoided** :data:`GAS_M3_PER_KWH`: 0.275 m³ of natural gas per exported kWh = 3.6 MJ/kWh
  ÷ :data:`THERMAL_EFFICIENCY` (0.3856, the average efficiency of Iran's thermal power plants
  in 1398 (2019/20) as the Thermal Power Plants Holding (TPPH) gave it, Mehr News,
  2020-12-02) ÷ :data:`GAS_LHV_MJ_PER_M3` (34 MJ/m³, lower heating value of pipeline gas: an
  assumption within its usual 32–36 MJ/m³). Other reports: 38.1 % for 2018 (TPPH's head via
  IRNA, 2019-11-02; Financial Tribune, 2019); "exceeded 39.6 %" (TPPH's deputy for generation,
  Tehran Times news 509957, early 2025 — undated in the copy read, so not the default).
- **CO2 avoided, gas margin** :data:`CO2_GAS_MARGIN_KG_PER_KWH` (= :data:`CO2_KG_PER_KWH`, the
  reports' default): 0.524 kg per exported kWh = 3.6 / 0.3856 MJ of gas burnt × 56.1 g CO2/MJ
  (IPCC 2006 Guidelines, vol. 2, table 2.2, natural gas). It assumes exported PV displaces gas
  burnt at the thermal fleet's average efficiency: a gas-fired margin, not the grid's average.
- **CO2 avoided, grid average** :data:`CO2_GRID_AVERAGE_KG_PER_KWH`: 0.655 kg CO2e per kWh, the
  carbon intensity of Iran's electricity generation in 2023 (Ember and Energy Institute, via
  Our World in Data, "Carbon intensity of electricity generation", 2023 value). It counts every
  kWh of the mix (hydro, nuclear, oil-fired winter generation) and is given apart, labelled.
- **Degradation** :data:`DEGRADATION_PER_YEAR`: 0.5 %/year, the median of nearly 2,000 field
  measured degradation rates (Jordan & Kurtz, "Photovoltaic Degradation Rates — an Analytical
  Review", Prog. Photovolt. 21:12–29, 2013); their 2016 compendium (Jordan, Kurtz, VanSant,
  Newmiller) finds 0.5–0.6 %/year for crystalline silicon and more in hot climates, so it is a
  central, not a conservative, figure for Iran's roofs.
- **Money units** :data:`RIAL_PER_TOMAN`: 1 toman = 10 rial.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "CO2_GAS_G_PER_MJ",
    "CO2_GAS_MARGIN_KG_PER_KWH",
    "CO2_GRID_AVERAGE_KG_PER_KWH",
    "CO2_KG_PER_KWH",
    "DEGRADATION_PER_YEAR",
    "GAS_LHV_MJ_PER_M3",
    "GAS_M3_PER_KWH",
    "RIAL_PER_TOMAN",
    "SOURCES",
    "TARIFF_TOMAN_PER_KWH",
    "THERMAL_EFFICIENCY",
    "Source",
]


class Source(NamedTuple):
    """Where a default comes from: its value, the publication and the publication's date."""

    value: float
    source: str
    date: str


#: Purchase price of the default category's first contract year (``household``). [toman/kWh]
TARIFF_TOMAN_PER_KWH: Final = 2500.0
#: Rial per toman. [rial/toman]
RIAL_PER_TOMAN: Final = 10.0
#: Average net efficiency of Iran's thermal power plants (TPPH, 1398). [0–1]
THERMAL_EFFICIENCY: Final = 0.3856
#: Lower heating value of pipeline natural gas (an assumption). [MJ/m³]
GAS_LHV_MJ_PER_M3: Final = 34.0
#: CO2 emission factor of natural gas (IPCC 2006, vol. 2, table 2.2). [g/MJ]
CO2_GAS_G_PER_MJ: Final = 56.1
#: CO2 avoided per exported kWh: gas burnt at :data:`THERMAL_EFFICIENCY` (gas margin). [kg/kWh]
CO2_GAS_MARGIN_KG_PER_KWH: Final = 3.6 / THERMAL_EFFICIENCY * CO2_GAS_G_PER_MJ / 1000.0
#: The reports' CO2 factor: the gas margin (:data:`CO2_GAS_MARGIN_KG_PER_KWH`). [kg/kWh]
CO2_KG_PER_KWH: Final = CO2_GAS_MARGIN_KG_PER_KWH
#: Carbon intensity of Iran's generation mix, 2023 (Ember/EI via OWID). [kg CO2e/kWh]
CO2_GRID_AVERAGE_KG_PER_KWH: Final = 0.655
#: Natural gas avoided per exported kWh. [m³/kWh]
GAS_M3_PER_KWH: Final = 3.6 / THERMAL_EFFICIENCY / GAS_LHV_MJ_PER_M3
#: Yearly loss of a module's output (median, Jordan & Kurtz 2013). [1/year]
DEGRADATION_PER_YEAR: Final = 0.005

#: Every sourced default: name → value, source, date (the tests hold each one to its source).
SOURCES: Final[dict[str, Source]] = {
    "TARIFF_TOMAN_PER_KWH": Source(
        2500.0, "IRIB News Hamedan (iribnews.ir/fa/news/5585575), ordinary households", "2025-10-03"
    ),
    "THERMAL_EFFICIENCY": Source(
        0.3856,
        "Mehr News (en.mehrnews.com/news/166660), TPPH: thermal plants' efficiency ~38.56 %",
        "2020-12-02",
    ),
    "GAS_LHV_MJ_PER_M3": Source(34.0, "assumption: pipeline gas LHV, usually 32–36 MJ/m³", "-"),
    "CO2_GAS_G_PER_MJ": Source(
        56.1, "IPCC 2006 Guidelines, vol. 2 (Energy), table 2.2, natural gas", "2006"
    ),
    "CO2_GRID_AVERAGE_KG_PER_KWH": Source(
        0.655,
        "Ember and Energy Institute via Our World in Data, carbon intensity of electricity, Iran",
        "2023",
    ),
    "DEGRADATION_PER_YEAR": Source(
        0.005,
        "Jordan & Kurtz, Photovoltaic Degradation Rates — an Analytical Review, "
        "Prog. Photovolt. 21:12–29 (median 0.5 %/year)",
        "2013",
    ),
    "RIAL_PER_TOMAN": Source(10.0, "definition: 1 toman = 10 rial", "-"),
}
