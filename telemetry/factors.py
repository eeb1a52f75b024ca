"""Money and fuel per exported kWh: the defaults the simulator and the dashboards share,
spelled once, each with its source (an assumption where no source fixes it).

- **Tariff** :data:`TARIFF_TOMAN_PER_KWH`: 1,456 toman/kWh, SATBA's published guaranteed-purchase
  base rate for PV of 20 kW and less (14,560 rial/kWh, satba.gov.ir tariff table, 2021 decree).
  Contracts are indexed and revised; pass the contract's rate.
- **Gas avoided** :data:`GAS_M3_PER_KWH`: 0.28 m³ of natural gas per exported kWh = 3.6 MJ/kWh ÷
  (0.38 net efficiency of Iran's thermal fleet: an assumption) ÷ 34 MJ/m³ (lower heating value
  of pipeline gas: an assumption within its usual 32–36 MJ/m³).
- **CO2 avoided** :data:`CO2_KG_PER_KWH`: 0.53 kg per exported kWh = 3.6 / 0.38 MJ of gas burnt
  × 56.1 g CO2/MJ (IPCC 2006 Guidelines, vol. 2, table 2.2, natural gas): a gas-fired margin,
  not the grid's average.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CO2_KG_PER_KWH", "GAS_M3_PER_KWH", "TARIFF_TOMAN_PER_KWH"]

#: Purchase price paid to the household (SATBA base rate, 2021). [toman/kWh]
TARIFF_TOMAN_PER_KWH: Final = 1456.0
#: CO2 avoided per exported kWh, gas-fired margin at 38 % efficiency. [kg/kWh]
CO2_KG_PER_KWH: Final = 0.53
#: Natural gas avoided per exported kWh. [m³/kWh]
GAS_M3_PER_KWH: Final = 0.28
