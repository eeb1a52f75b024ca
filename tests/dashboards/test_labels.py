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


def test_every_finding_kind_has_an_english_and_a_persian_name() -> None:
    from telemetry.schema import FINDING_KINDS

    en, fa = labels_for("en"), labels_for("fa")
    assert en.finding("soiling") == "Soiling (dust)"
    assert fa.finding("comms_loss") == "قطع ارتباط"
    for kind in FINDING_KINDS:
        assert en.finding(kind) != kind
        assert fa.finding(kind) != kind
    assert en.finding("new_kind") == fa.finding("new_kind") == "new_kind"  # kept as written
