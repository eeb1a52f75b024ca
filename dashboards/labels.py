"""The report's words in English and Persian, and how each language writes numbers and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import jdatetime

from dashboards.persian import (
    FINDINGS_FA,
    GREGORIAN_MONTHS_FA,
    HIJRI_MONTHS_EN,
    HIJRI_MONTHS_FA,
    PROVINCES_FA,
    format_number,
    matplotlib_shapes_persian,
    persian_digits,
)
from telemetry.provinces import canonical_province, province_fa

__all__ = ["FINDINGS_EN", "TEXT", "Labels", "finding_label", "labels_for"]

TEHRAN = ZoneInfo("Asia/Tehran")
_GREGORIAN_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: English of each kind of triage finding (the tag ``finding`` of ``plant_finding``).
FINDINGS_EN = {
    "offline": "Offline",
    "comms_loss": "Loss of communication",
    "inverter_fault": "Inverter fault",
    "string_fault": "String fault",
    "shading": "Shading",
    "soiling": "Soiling (dust)",
    "degradation": "Degradation",
    "underperforming": "Underperforming",
}


def finding_label(kind: str) -> str:
    """The dashboards' label of a finding: Persian with the English kind,
    ``'خطای اینورتر (inverter_fault)'``; an unknown kind as it is."""
    fa = FINDINGS_FA.get(kind)
    return f"{fa} ({kind})" if fa else kind


#: key → (English, Persian)
TEXT: dict[str, tuple[str, str]] = {
    "title": (
        "Rooftop solar micro-plants: program report",
        "نیروگاه‌های خورشیدی پشت‌بامی: گزارش برنامه",
    ),
    "period": ("Period", "دوره"),
    "provinces": ("Provinces", "استان‌ها"),
    "all_provinces": ("all", "همه"),
    "generated": ("Generated", "تهیه‌شده در"),
    "source": ("Data", "داده"),
    "key_figures": ("Key figures", "ارقام اصلی"),
    "energy": ("Energy delivered", "انرژی تحویلی"),
    "peak": ("Peak power (hourly mean)", "بیشینهٔ توان (میانگین ساعتی)"),
    "income": ("Income paid to households", "درآمد پرداختی به خانوارها"),
    "co2": ("CO₂ avoided", "کاهش انتشار CO₂"),
    "availability": ("Availability", "دسترس‌پذیری"),
    "plants": ("Plants reporting / registered", "نیروگاه‌های گزارش‌دهنده / ثبت‌شده"),
    "mwh": ("MWh", "مگاوات‌ساعت"),
    "mw": ("MW", "مگاوات"),
    "kw": ("kW", "کیلووات"),
    "million_toman": ("million toman", "میلیون تومان"),
    "tonnes": ("t", "تن"),
    "availability_pct": ("availability %", "دسترس‌پذیری ٪"),
    "coverage_pct": ("coverage %", "پوشش ٪"),
    "daily": ("Energy per day (MWh)", "انرژی روزانه (مگاوات‌ساعت)"),
    "by_province": ("By province", "به تفکیک استان"),
    "province": ("Province", "استان"),
    "plants_n": ("Plants", "نیروگاه"),
    "energy_mwh": ("Energy MWh", "انرژی (مگاوات‌ساعت)"),
    "peak_kw": ("Peak kW", "بیشینهٔ توان (کیلووات)"),
    "income_mt": ("Income, million toman", "درآمد (میلیون تومان)"),
    "co2_t": ("CO₂ avoided, t", "کاهش CO₂ (تن)"),
    "avail": ("Availability %", "دسترس‌پذیری ٪"),
    "total": ("All", "کل"),
    "by_hijri": ("By Solar Hijri month", "به تفکیک ماه خورشیدی"),
    "by_gregorian": ("By Gregorian month", "به تفکیک ماه میلادی"),
    "month": ("Month", "ماه"),
    "energy_matrix": (
        "Energy by province and month (MWh)",
        "انرژی به تفکیک استان و ماه (مگاوات‌ساعت)",
    ),
    "peak_matrix": (
        "Peak power by province and month (kW, hourly mean)",
        "بیشینهٔ توان به تفکیک استان و ماه (کیلووات، میانگین ساعتی)",
    ),
    "simulation": ("What the simulations expect", "انتظار شبیه‌سازی‌ها"),
    "sim_yield": ("Expected yield of a typical year, run", "تولید مورد انتظار در سال نمونه، اجرای"),
    "expected_mwh": ("Expected MWh/year", "مگاوات‌ساعت در سال"),
    "expected_p90_mwh": (
        "P90 MWh/year (exceeded 9 years in 10)",
        "مگاوات‌ساعت P90 (در ۹ سال از ۱۰ بیشتر)",
    ),
    "specific_yield": ("kWh per kWp", "کیلووات‌ساعت بر کیلووات‌پیک"),
    "income_year1_mt": (
        "Contract year 1, million toman",
        "سال نخست قرارداد (میلیون تومان)",
    ),
    "income_lifetime_mt": ("20 years, million toman", "۲۰ سال (میلیون تومان)"),
    "outage": (
        "Outage hours covered by hybrid plants, run",
        "ساعات خاموشی پوشش‌داده‌شده با نیروگاه‌های هیبرید، اجرای",
    ),
    "outage_hours": ("Cut plant-hours", "ساعت‌نیروگاه خاموشی"),
    "served_hours": ("Served plant-hours", "ساعت‌نیروگاه تأمین‌شده"),
    "unserved_kwh": ("Unserved kWh", "کیلووات‌ساعت تأمین‌نشده"),
    "lost_to_cuts_kwh": (
        "Grid-tied kWh lost to cuts (anti-islanding)",
        "کیلووات‌ساعت ازدست‌رفتهٔ نیروگاه‌های متصل به شبکه در خاموشی",
    ),
    "outage_months": (
        "Coverage by Solar Hijri month (fleet)",
        "پوشش به تفکیک ماه خورشیدی (کل ناوگان)",
    ),
    "day_ahead": (
        "Day ahead: the latest forecast and the skill so far",
        "روز آینده: آخرین پیش‌بینی و دقت تاکنون",
    ),
    "forecast_run": (
        "Forecast by province over its horizon, run",
        "پیش‌بینی به تفکیک استان در افق آن، اجرای",
    ),
    "forecast_mwh": ("Forecast MWh", "پیش‌بینی (مگاوات‌ساعت)"),
    "forecast_peak_mw": ("Peak MW", "بیشینهٔ توان (مگاوات)"),
    "forecast_peak_p90_mw": ("Peak hour P90 MW", "P90 ساعت اوج (مگاوات)"),
    "forecast_hours": ("Hours", "ساعت"),
    "forecast_skill": (
        "Forecast skill in the period (fleet, hourly)",
        "دقت پیش‌بینی در این دوره (کل ناوگان، ساعتی)",
    ),
    "method": ("Method", "روش"),
    "nmae_pct": ("nMAE %", "خطای نسبی میانگین ٪"),
    "skill_climate": ("Skill vs climate", "مهارت نسبت به اقلیم"),
    "skill_persistence": ("Skill vs persistence", "مهارت نسبت به ماندگاری"),
    "no_data": ("No data for this period.", "برای این دوره داده‌ای نیست."),
    "notes": ("Definitions and sources", "تعاریف و منابع"),
    "queries": (
        "The queries behind the figures (InfluxQL, as the Grafana panels run them)",
        "پرس‌وجوهای پشت ارقام (InfluxQL، همان‌که پنل‌های Grafana اجرا می‌کنند)",
    ),
    "note_energy": (
        "Energy is the rise of each inverter's lifetime counter within each day (UTC day, "
        "03:30–03:30 Iran time: one local solar day), summed over plants.",
        "انرژی، افزایش شمارندهٔ عمر هر اینورتر در هر روز است (روز UTC، ۰۳:۳۰ تا ۰۳:۳۰ به وقت "
        "ایران: یک روز خورشیدی محلی) که روی نیروگاه‌ها جمع زده شده است.",
    ),
    "note_peak": (
        "Peak power is the largest hourly mean of the summed AC power.",
        "بیشینهٔ توان، بزرگ‌ترین میانگین ساعتی مجموع توان AC است.",
    ),
    "note_income": (
        "Income = energy × {tariff} toman/kWh (by default the rate reported for ordinary "
        "household plants, IRIB News 2025-10-03; the simulation's contract figures use each "
        "plant's tariff category and 0.5 %/year module degradation). CO₂ avoided = energy × "
        "{co2} kg/kWh (gas-fired generation displaced at the margin, gas burnt at 38.56 % "
        "efficiency; the grid's average intensity, 0.655 kg/kWh, would give more).",
        "درآمد = انرژی × {tariff} تومان بر کیلووات‌ساعت (به‌طور پیش‌فرض نرخ گزارش‌شده برای "
        "نیروگاه‌های خانگی عادی، خبرگزاری صداوسیما ۱۱ مهر ۱۴۰۴؛ ارقام قرارداد در شبیه‌سازی، دستهٔ "
        "تعرفهٔ هر نیروگاه و افت سالانهٔ ۰٫۵ درصد پنل را به کار می‌برند). کاهش CO₂ = انرژی × {co2} "
        "کیلوگرم بر کیلووات‌ساعت (جایگزینی تولید گازی در حاشیه با بازده ۳۸٫۵۶ درصد؛ شدت میانگین "
        "شبکه، ۰٫۶۵۵ کیلوگرم بر کیلووات‌ساعت، رقم بزرگ‌تری می‌دهد).",
    ),
    "note_availability": (
        "Availability = hours in which a plant produced ÷ (registered plants × daylight hours, "
        "the hours in which some plant of the province produced). Power cuts count against it.",
        "دسترس‌پذیری = ساعت‌هایی که نیروگاه تولید کرده ÷ (تعداد نیروگاه‌های ثبت‌شده × ساعات روز، "
        "یعنی ساعت‌هایی که نیروگاهی در آن استان تولید داشته). خاموشی‌های شبکه هم از آن کم "
        "می‌کنند.",
    ),
    "note_sim": (
        "Simulations use typical-year weather (the embedded climatology unless a weather file "
        "was given): they say what to expect, not what happened.",
        "شبیه‌سازی‌ها با آب‌وهوای سال نمونه انجام می‌شوند (اقلیم‌شناسی داخلی، مگر آنکه فایل "
        "آب‌وهوا داده شده باشد): آنچه انتظار می‌رود را می‌گویند، نه آنچه رخ داده است.",
    ),
}


@dataclass(frozen=True)
class Labels:
    """Words and formats of one language."""

    lang: str
    persian_digits: bool = True

    @property
    def rtl(self) -> bool:
        return self.lang == "fa"

    @property
    def _fa_digits(self) -> bool:
        return self.lang == "fa" and self.persian_digits

    def t(self, key: str) -> str:
        en, fa = TEXT[key]
        return fa if self.lang == "fa" else en

    def finding(self, kind: str) -> str:
        """A kind of finding in the language (``soiling`` → ``Soiling (dust)``)."""
        table = FINDINGS_FA if self.lang == "fa" else FINDINGS_EN
        return table.get(kind, kind)

    def digits(self, text: str) -> str:
        return persian_digits(text) if self._fa_digits else text

    def number(self, value: float | int | None, decimals: int = 1) -> str:
        return format_number(value, decimals, persian=self._fa_digits)

    def tick(self, value: float) -> str:
        """An axis tick: as few digits as it needs (``0.005``, ``12,500``)."""
        text = f"{value:,.6g}"
        if self._fa_digits:
            text = text.replace(",", "\u066c").replace(".", "\u066b")
        return self.digits(text)

    def province(self, name: str | None) -> str:
        name = name or "(none)"
        if self.lang == "fa":  # any usual spelling of the 31 (Esfahan, tehran) in Persian
            return PROVINCES_FA.get(name) or province_fa(name) or name
        fixed = {"(fleet)": "All plants", "(none)": "(no province)"}
        return fixed.get(name) or canonical_province(name) or name

    def month(self, tag: str | None) -> str:
        """Gregorian ``2026-07`` → ``Jul 2026`` / ``ژوئیه ۲۰۲۶``; a bare ``07`` → the name."""
        text = str(tag or "")
        year, _, month = text.partition("-") if "-" in text else ("", "", text)
        if not month.isdigit() or not 1 <= int(month) <= 12:
            return self.digits(text)
        names = GREGORIAN_MONTHS_FA if self.lang == "fa" else _GREGORIAN_EN
        return self.digits(f"{names[int(month) - 1]} {year}".strip())

    def hijri_month(self, tag: str | None) -> str:
        """``1405-04 Tir`` → ``Tir 1405`` / ``تیر ۱۴۰۵``; a bare ``04`` → the name."""
        text = str(tag or "").split(" ")[0]
        year, _, month = text.partition("-") if "-" in text else ("", "", text)
        if not month.isdigit() or not 1 <= int(month) <= 12:
            return self.digits(text)
        names = HIJRI_MONTHS_FA if self.lang == "fa" else HIJRI_MONTHS_EN
        return self.digits(f"{names[int(month) - 1]} {year}".strip())

    def day(self, day: date) -> str:
        """A date: ISO in English, Solar Hijri ``1405/04/10`` in Persian."""
        if self.lang == "fa":
            j = jdatetime.date.fromgregorian(date=day)
            return self.digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d}")
        return day.isoformat()

    def moment(self, ms: int) -> str:
        """A time in Tehran: both calendars."""
        local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(TEHRAN)
        j = jdatetime.datetime.fromgregorian(datetime=local)
        greg = f"{local:%Y-%m-%d %H:%M}"
        hijri = f"{j.year:04d}/{j.month:02d}/{j.day:02d} {local:%H:%M}"
        if self.lang == "fa":
            return self.digits(f"{hijri} ({greg})")
        return f"{greg} Tehran ({hijri} SH)"


def labels_for(lang: str, *, persian_digits: bool = True, for_charts: bool = False) -> Labels:
    """The labels of a language; charts fall back to English where matplotlib cannot lay out
    Persian (before 3.11 or built without libraqm)."""
    if for_charts and lang == "fa" and not matplotlib_shapes_persian():
        return Labels("en", persian_digits)
    return Labels(lang, persian_digits)
