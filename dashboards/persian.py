"""Persian for the report: digits, numbers, month and province names.

Browsers shape Persian and lay it out right to left; so does matplotlib 3.11 and later (built
with libraqm), which :func:`matplotlib_shapes_persian` tells.
"""

from __future__ import annotations

import math

from telemetry.calendar import HIJRI_MONTHS_EN
from telemetry.provinces import PROVINCES

__all__ = [
    "FINDINGS_FA",
    "GREGORIAN_MONTHS_FA",
    "HIJRI_MONTHS_EN",
    "HIJRI_MONTHS_FA",
    "PROVINCES_FA",
    "format_number",
    "matplotlib_shapes_persian",
    "persian_digits",
]

HIJRI_MONTHS_FA = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
GREGORIAN_MONTHS_FA = (
    "ژانویه",
    "فوریه",
    "مارس",
    "آوریل",
    "مه",
    "ژوئن",
    "ژوئیه",
    "اوت",
    "سپتامبر",
    "اکتبر",
    "نوامبر",
    "دسامبر",
)
#: Persian names of the provinces as the fleet files spell them in English (the 31 of
#: :mod:`telemetry.provinces`, and the two rows that are no province).
PROVINCES_FA = {**PROVINCES, "(none)": "(بدون استان)", "(fleet)": "(کل ناوگان)"}

#: Persian of each kind of triage finding (``telemetry.schema.FINDING_KINDS``), as a technician
#: says it: out of circuit (produces nothing while the grid is up), loss of communication (the
#: plant produces, its gateway is silent), inverter fault, string fault (استرینگ, the word used
#: on site), shading, dust on the panels, gradual power loss (ageing), production under
#: expectation.
FINDINGS_FA = {
    "offline": "خارج از مدار",
    "comms_loss": "قطع ارتباط",
    "inverter_fault": "خطای اینورتر",
    "string_fault": "خرابی استرینگ",
    "shading": "سایه‌اندازی",
    "soiling": "گردوغبار روی پنل",
    "degradation": "افت تدریجی توان (فرسودگی)",
    "underperforming": "تولید کمتر از انتظار",
}

_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_THOUSANDS_FA = "\u066c"  # Arabic thousands separator
_DECIMAL_FA = "\u066b"  # Arabic decimal separator


def persian_digits(text: str) -> str:
    """``'1405-04'`` → ``'۱۴۰۵-۰۴'``."""
    return text.translate(_DIGITS)


def format_number(
    value: float | int | None, decimals: int = 1, *, persian: bool = False, missing: str = "–"
) -> str:
    """Grouped thousands, fixed decimals; Persian digits and separators when asked."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    text = f"{value:,.{decimals}f}"
    if not persian:
        return text
    return (
        text.replace(",", "\0")
        .replace(".", _DECIMAL_FA)
        .replace("\0", _THOUSANDS_FA)
        .translate(_DIGITS)
    )


def matplotlib_shapes_persian() -> bool:
    """True when matplotlib lays out right-to-left text itself (built with libraqm, 3.11+);
    otherwise charts of the Persian report keep English labels."""
    from matplotlib import ft2font

    return bool(getattr(ft2font, "__libraqm_version__", ""))
