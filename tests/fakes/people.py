"""Synthetic people for the fakes' `generate()`: names, companies, emails and phones, drawn from a seeded random.

Tests and benchmarks rely on `generate(n, seed=...)` giving the same contacts every time, so every helper here
draws from `rnd` in a fixed order: drawing one value more or less, or in another order, changes every contact
after it. The HubSpot and Zoho fakes share one vocabulary (`PEOPLE`, `us_phone`, `phone`); the Salesforce fake
keeps its own larger one, with its own phone formats, through the same `People`.
"""

from __future__ import annotations

import contextlib
import gc
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

Draw = Callable[[], float]  # `random.Random(seed).random`: each call draws the next number in [0, 1)


def words(text: str, sep: str | None = None) -> list[str]:
    """Long word lists read better as text than as a column of quoted literals."""
    return [word.strip() for word in text.split(sep) if word.strip()]


def ascii_fold(text: str) -> str:
    """`Zoë O'Brien` -> `zoe obrien`: how a name turns up in an email address."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "").lower()


# What `bad_rate` puts in place of an email or a phone: values a sync must reject or flag, not store.
BAD_EMAILS = ("n/a", "not-an-email", "none", "john.doe@", "@example.com", "test@test", "N/A", "unknown")
BAD_PHONES = ("n/a", "000-000-0000", "call me", "12345", "TBD", "555", "none", "+1")


def spoil(rnd: Draw, value: str, bad: Sequence[str], bad_rate: float) -> str:
    """`value`, or in `bad_rate` of the draws one of the `bad` values instead."""
    return bad[int(rnd() * len(bad))] if rnd() < bad_rate else value


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Generating a million contacts makes millions of objects, none of them in a cycle; left on, the cyclic
    collector would run many full passes over them for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class People:
    """One fake's vocabulary, with the email style of its data set.

    `local_cuts` are the cumulative shares of the local parts `first.last`, `flast`, `first_last` and, with a
    fourth cut, `firstl`; the rest are `first.lastNN`. `work_share` of the people with a company get a work address
    (the others a numbered free-mail one), and `title_case_share` of the emails are written Title.Case.
    """

    firsts: tuple[tuple[str, str], ...]  # (name, ascii_fold(name))
    lasts: tuple[tuple[str, str], ...]
    companies: tuple[str, ...]
    domains: tuple[str, ...]  # the work email domain of each company
    free_mail: tuple[str, ...]
    local_cuts: tuple[float, ...]
    work_share: float
    title_case_share: float = 0.0

    @classmethod
    def of(
        cls,
        first_names: Sequence[str],
        last_names: Sequence[str],
        company_words: Sequence[str],
        company_suffixes: Sequence[str],
        free_mail: Sequence[str],
        *,
        local_cuts: tuple[float, ...],
        work_share: float,
        title_case_share: float = 0.0,
    ) -> People:
        """Every company word with every suffix, each company's domain being its first word `.com`."""
        companies = tuple(f"{word} {suffix}" for word in company_words for suffix in company_suffixes)
        return cls(
            firsts=tuple((name, ascii_fold(name)) for name in first_names),
            lasts=tuple((name, ascii_fold(name)) for name in last_names),
            companies=companies,
            domains=tuple(f"{ascii_fold(name.split()[0])}.com" for name in companies),
            free_mail=tuple(free_mail),
            local_cuts=local_cuts,
            work_share=work_share,
            title_case_share=title_case_share,
        )

    def person(self, rnd: Draw) -> tuple[str, str, str, str, int]:
        """(first, first ascii, last, last ascii, company index or -1): 70% work for a company."""
        first, first_ascii = self.firsts[int(rnd() * len(self.firsts))]
        last, last_ascii = self.lasts[int(rnd() * len(self.lasts))]
        company = int(rnd() * len(self.companies)) if rnd() < 0.7 else -1
        return first, first_ascii, last, last_ascii, company

    def email(self, rnd: Draw, first: str, last: str, company: int, bad_rate: float) -> str:
        """An address for the person (`first` and `last` folded to ASCII); `bad_rate` of them are unusable."""
        cuts = self.local_cuts
        style = rnd()
        if style < cuts[0]:
            local = f"{first}.{last}"
        elif style < cuts[1]:
            local = f"{first[:1]}{last}"
        elif style < cuts[2]:
            local = f"{first}_{last}"
        elif len(cuts) > 3 and style < cuts[3]:
            local = f"{first}{last[:1]}"
        else:
            local = f"{first}.{last}{int(rnd() * 100)}"
        if company >= 0 and rnd() < self.work_share:
            email = f"{local}@{self.domains[company]}"
        else:
            email = f"{local}{int(rnd() * 1000)}@{self.free_mail[int(rnd() * len(self.free_mail))]}"
        if self.title_case_share and rnd() < self.title_case_share:
            email = email.title()
        return spoil(rnd, email, BAD_EMAILS, bad_rate)


# -- the vocabulary of the HubSpot and Zoho fakes ------------------------------------------------------------------

FIRST_NAMES = words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica
Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Ashley Steven Emily Paul
Donna Andrew Michelle Kevin Amanda Brian Melissa Jason Laura Ryan Rebecca Eric Anna Justin Nicole Brandon Samantha
José Zoë Renée François Søren Mei Hiroshi Priya Arjun Fatima Omar Wei Olga Ivan Lucía Mateo Aisha Kwame Ngozi Ingrid
"""
)
LAST_NAMES = words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson
Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young
Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Muñoz O'Brien Müller Schmidt Dubois Rossi Novak Kowalski Yamamoto Sato Singh Kumar Okafor Mensah Larsen Johansson
"""
)
COMPANY_WORDS = words(
    "Acme|Globex|Initech|Umbrella|Hooli|Vandelay|Soylent|Tyrell|Wonka|Aperture|Oscorp|Nakatomi|Northwind|Contoso|"
    "Fabrikam|Litware|Tailspin|Proseware|Alpine|Coho|Pied Piper|Blue Summit|Grand Pyramid|Massive Dynamic",
    sep="|",
)
COMPANY_SUFFIXES = words("Inc.|LLC|Corp|Group|Labs|Systems|GmbH|Ltd|Partners|Health", sep="|")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me")
TITLES = words(
    "CEO|CFO|CTO|VP Sales|VP, Marketing|Director of Finance|Sales Manager|Account Executive|Office Manager|Buyer|"
    "Software Engineer|Engineering Manager|Product Manager|Marketing Coordinator|Recruiter|Controller|Consultant|"
    "Customer Success Manager|Head of IT|Executive Assistant",
    sep="|",
)
AREA_CODES = [int(code) for code in words("212 213 206 303 305 310 312 404 415 469 503 512 602 617 646 702 713 720")]

PEOPLE = People.of(
    FIRST_NAMES,
    LAST_NAMES,
    COMPANY_WORDS,
    COMPANY_SUFFIXES,
    FREE_MAIL,
    local_cuts=(0.45, 0.65, 0.8),
    work_share=0.8,
    title_case_share=0.05,
)


def us_phone(rnd: Draw) -> str:
    """A US number in one of the formats people type, sometimes with an extension."""
    area = AREA_CODES[int(rnd() * len(AREA_CODES))]
    exchange = 200 + int(rnd() * 800)
    line = int(rnd() * 10000)
    style = rnd()
    if style < 0.25:
        return f"({area}) {exchange}-{line:04d}"
    if style < 0.4:
        return f"{area}-{exchange}-{line:04d}"
    if style < 0.5:
        return f"{area}.{exchange}.{line:04d}"
    if style < 0.65:
        return f"+1 {area}-{exchange}-{line:04d}"
    if style < 0.8:
        return f"+1{area}{exchange}{line:04d}"
    if style < 0.9:
        return f"{area}{exchange}{line:04d}"
    if style < 0.95:
        return f"+1 ({area}) {exchange} {line:04d}"
    return f"({area}) {exchange}-{line:04d} ext. {100 + int(rnd() * 900)}"


def intl_phone(rnd: Draw) -> str:
    def d(k: int) -> str:
        return str(int(rnd() * 10**k)).zfill(k)

    style = int(rnd() * 5)
    if style == 0:
        return f"+44 20 7{d(3)} {d(4)}"
    if style == 1:
        return f"+49 30 {d(8)}"
    if style == 2:
        return f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}"
    if style == 3:
        return f"+61 2 9{d(3)} {d(4)}"
    return f"+91 98{d(3)} {d(5)}"


def phone(rnd: Draw) -> str:
    """One in ten is international."""
    return intl_phone(rnd) if rnd() < 0.1 else us_phone(rnd)
