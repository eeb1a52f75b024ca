"""Iran's 31 provinces and their usual spellings (:mod:`telemetry.provinces`)."""

from __future__ import annotations

import pytest

from dashboards.persian import PROVINCES_FA
from simulate.climatology import load_climatology
from telemetry.provinces import PROVINCES, canonical_province, province_fa, unknown_provinces


def test_thirty_one_provinces_each_found_by_its_english_and_persian_name() -> None:
    assert len(PROVINCES) == 31
    for english, persian in PROVINCES.items():
        assert canonical_province(english) == english
        assert canonical_province(persian) == english
        assert canonical_province(english.upper()) == english
        assert province_fa(english) == persian
    # The embedded climatology and the Persian report name the same 31.
    assert set(load_climatology()["province"]) == set(PROVINCES)
    assert {k for k in PROVINCES_FA if not k.startswith("(")} == set(PROVINCES)


@pytest.mark.parametrize(
    ("written", "province"),
    [
        ("tehran", "Tehran"),
        (" Tehran ", "Tehran"),
        ("Khorasan Razavi", "Razavi Khorasan"),
        ("khorasan-e razavi", "Razavi Khorasan"),
        ("Sistan & Baluchestan", "Sistan and Baluchestan"),
        ("Esfahan", "Isfahan"),
        ("استان فارس", "Fars"),
        ("Fars Province", "Fars"),
        ("كرمان", "Kerman"),  # Arabic kaf
        ("Kohgiluyeh and Boyer Ahmad", "Kohgiluyeh and Boyer-Ahmad"),
    ],
)
def test_usual_spellings(written: str, province: str) -> None:
    assert canonical_province(written) == province


def test_unknown_provinces() -> None:
    assert canonical_province("Kerm") is None
    assert canonical_province("") is None
    assert unknown_provinces(["Tehran", "", "Tehrn", "Tehrn", "تهران", "Atlantis"]) == [
        "Atlantis",
        "Tehrn",
    ]
