"""Iran's 31 provinces: the English names fleet files use, their Persian names, and the other
spellings people write (``Khorasan Razavi``, ``Esfahan``, ``تهران``, ``tehran``).

:func:`canonical_province` maps any of them to the English name the project uses (the
province's name in :data:`PROVINCES`); the fleet file keeps what it says, and commands warn
about a province they do not know (a typo becomes a province of its own in every table).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["PROVINCES", "canonical_province", "province_fa", "unknown_provinces"]

#: English name → Persian name of the 31 provinces (the English names of the sample fleet and
#: the embedded climatology).
PROVINCES: Final[dict[str, str]] = {
    "Tehran": "تهران",
    "Razavi Khorasan": "خراسان رضوی",
    "Isfahan": "اصفهان",
    "Fars": "فارس",
    "East Azerbaijan": "آذربایجان شرقی",
    "Khuzestan": "خوزستان",
    "Kerman": "کرمان",
    "Alborz": "البرز",
    "Qom": "قم",
    "West Azerbaijan": "آذربایجان غربی",
    "Gilan": "گیلان",
    "Sistan and Baluchestan": "سیستان و بلوچستان",
    "Kermanshah": "کرمانشاه",
    "Hamadan": "همدان",
    "Yazd": "یزد",
    "Ardabil": "اردبیل",
    "Hormozgan": "هرمزگان",
    "Markazi": "مرکزی",
    "Zanjan": "زنجان",
    "Kurdistan": "کردستان",
    "Qazvin": "قزوین",
    "Lorestan": "لرستان",
    "Golestan": "گلستان",
    "Mazandaran": "مازندران",
    "South Khorasan": "خراسان جنوبی",
    "North Khorasan": "خراسان شمالی",
    "Ilam": "ایلام",
    "Bushehr": "بوشهر",
    "Chaharmahal and Bakhtiari": "چهارمحال و بختیاری",
    "Kohgiluyeh and Boyer-Ahmad": "کهگیلویه و بویراحمد",
    "Semnan": "سمنان",
}

#: Other spellings met in official and everyday use (transliterations, word order).
_ALIASES: Final[dict[str, str]] = {
    "Khorasan Razavi": "Razavi Khorasan",
    "Khorasan-e Razavi": "Razavi Khorasan",
    "Esfahan": "Isfahan",
    "Azarbaijan-e Sharqi": "East Azerbaijan",
    "Azarbayjan-e Sharqi": "East Azerbaijan",
    "Azerbaijan East": "East Azerbaijan",
    "Azarbaijan-e Gharbi": "West Azerbaijan",
    "Azarbayjan-e Gharbi": "West Azerbaijan",
    "Azerbaijan West": "West Azerbaijan",
    "Guilan": "Gilan",
    "Sistan Baluchestan": "Sistan and Baluchestan",
    "Sistan-o Baluchestan": "Sistan and Baluchestan",
    "Hamedan": "Hamadan",
    "Kordestan": "Kurdistan",
    "Lorestan Province": "Lorestan",
    "Khorasan Jonubi": "South Khorasan",
    "Khorasan-e Jonubi": "South Khorasan",
    "Khorasan Shomali": "North Khorasan",
    "Khorasan-e Shomali": "North Khorasan",
    "Boushehr": "Bushehr",
    "Chaharmahal Bakhtiari": "Chaharmahal and Bakhtiari",
    "Kohgiluyeh Boyer Ahmad": "Kohgiluyeh and Boyer-Ahmad",
    "Kohkiluyeh and Boyer-Ahmad": "Kohgiluyeh and Boyer-Ahmad",
}

_ARABIC_TO_PERSIAN: Final = str.maketrans(
    {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "\u200c": " "}
)
_DROP: Final = re.compile(r"[\s\-_&.,'’()]+|\band\b|\bprovince\b|\bostan\b|استان")


def _key(name: str) -> str:
    text = name.translate(_ARABIC_TO_PERSIAN).casefold()
    return _DROP.sub("", f" {text} ")


_LOOKUP: Final[dict[str, str]] = {
    **{_key(en): en for en in PROVINCES},
    **{_key(fa): en for en, fa in PROVINCES.items()},
    **{_key(alias): en for alias, en in _ALIASES.items()},
}


def canonical_province(name: str) -> str | None:
    """The project's English name of a province written any usual way, or None if it is not
    one of the 31 (``"tehran"``, ``"تهران"``, ``"Khorasan Razavi"`` → ``"Tehran"``, ``"Tehran"``,
    ``"Razavi Khorasan"``)."""
    if not name or not name.strip():
        return None
    return _LOOKUP.get(_key(name))


def province_fa(name: str) -> str | None:
    """The Persian name of a province written any usual way, or None."""
    english = canonical_province(name)
    return None if english is None else PROVINCES[english]


def unknown_provinces(names: object) -> list[str]:
    """The distinct non-empty names among ``names`` that are not one of the 31, sorted."""
    seen = {str(n).strip() for n in names if str(n).strip()}  # type: ignore[attr-defined]
    return sorted(n for n in seen if canonical_province(n) is None)
