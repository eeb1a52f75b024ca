"""``dashboards.labels``: a province written any usual way is named the one way in a report."""

from __future__ import annotations

import pytest

from dashboards.labels import labels_for


@pytest.mark.parametrize("written", ["Esfahan", "isfahan", "اصفهان", "Isfahan"])
def test_a_province_is_named_alike_however_the_fleet_file_spells_it(written: str) -> None:
    assert labels_for("en").province(written) == "Isfahan"
    assert labels_for("fa").province(written) == "اصفهان"


def test_fleet_none_and_unknown_provinces() -> None:
    en, fa = labels_for("en"), labels_for("fa")
    assert en.province(None) == "(no province)"
    assert en.province("(fleet)") == "All plants"
    assert fa.province("(fleet)") == "(کل ناوگان)"
    assert en.province("Atlantis") == fa.province("Atlantis") == "Atlantis"  # kept as written
