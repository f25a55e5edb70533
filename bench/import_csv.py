"""Benchmark of the CSV import against the cost of normalization itself and against a naive pandas import.

The question this answers is whether the import is as fast as it can reasonably be: validating phones and
e-mails with `phonenumbers` and `email-validator` is the irreducible work, so the import is measured as a
multiple of that "normalization floor", next to what a data engineer would write in an afternoon with
pandas. Re-importing an unchanged file is measured too, because that is what scheduled syncs do most.

Each import runs in a fresh child process so that its peak memory is its own; memory must stay flat as
files grow, which `--rows-list 1000000,3000000` checks.

    python bench/import_csv.py [--rows 1000000] [--rows-list 1000000,3000000] [--pg-url URL]
                               [--skip-naive] [--skip-pg] [--workdir DIR] [--workers N] [--seed N]

The PostgreSQL URL defaults to $CONTACTS_BENCH_DATABASE_URL, else a local `contacts_bench` database, which
the benchmark drops and creates itself; PostgreSQL is skipped with a note when it cannot be reached. The
generated CSV files are cached in the work directory (keyed by rows, seed and generator version).
Exit status: 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/contacts_bench"
PG_URL_ENV = "CONTACTS_BENCH_DATABASE_URL"
CUSTOMER_ID = uuid.UUID("6f1c9a52-8d0e-4b7a-9e43-2b5d7c0a1e11")
REGION = "US"
SEED = 20240611
# Part of the cache key of generated files: bump whenever the generator's output changes.
GENERATOR_VERSION = 4

COLUMNS = [
    "external_id",
    "first_name",
    "last_name",
    "display_name",
    "company",
    "job_title",
    "notes",
    "tags",
    "mobile_phone",
    "work_phone",
    "home_phone",
    "fax",
    "other_phone",
    "email",
    "work_email",
    "personal_email",
    "other_email",
]
PHONE_COLUMNS = ["mobile_phone", "work_phone", "home_phone", "fax", "other_phone"]
EMAIL_COLUMNS = ["email", "work_email", "personal_email", "other_email"]
NAME_COLUMNS = ["first_name", "last_name", "display_name"]

# Targets (defined for 1M rows on a developer machine).
MAX_FLOOR_RATIO = 1.2
MIN_SPEEDUP_VS_NAIVE = 3.0
MIN_REIMPORT_SPEEDUP = 3.0
MAX_RSS_MB = 500.0
RSS_GROWTH_TOLERANCE = 1.10


# --------------------------------------------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------------------------------------------


def _words(text: str, sep: str = " ") -> list[str]:
    return text.split(sep)


# Region, share of people and companies, national mail/web suffix, legal form of company names.
REGIONS: list[tuple[str, int, str, list[str]]] = [
    ("US", 55, "com", ["Inc.", "LLC", "Corp.", ""]),
    ("CA", 8, "ca", ["Inc.", "Ltd.", ""]),
    ("GB", 8, "co.uk", ["Ltd", "plc", ""]),
    ("DE", 6, "de", ["GmbH", "AG", "KG"]),
    ("FR", 5, "fr", ["SARL", "SAS", "S.A."]),
    ("IN", 5, "in", ["Pvt Ltd", "Ltd"]),
    ("BR", 4, "com.br", ["Ltda", "S.A."]),
    ("AU", 4, "com.au", ["Pty Ltd", ""]),
    ("JP", 3, "co.jp", ["K.K.", "Co., Ltd."]),
    ("MX", 2, "com.mx", ["S.A. de C.V.", ""]),
]
NANP_AREA_CODES = {
    "US": _words("212 213 214 305 312 404 408 415 503 512 602 617 646 702 713 718 720 803 858 917 206 303 615 704"),
    "CA": _words("416 604 514 403 613 780 902 905 647 587"),
}

# Name pools per language: (as written, ASCII form used in mail addresses). ASCII forms are unique in a pool.
_EN_FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Chris Nancy Daniel Lisa Matthew Betty Anthony "
    "Sandra Mark Ashley Donald Emily Steven Michelle Paul Amanda Andrew Melissa Joshua Deborah "
    "Kevin Stephanie Brian Rebecca George Laura Timothy Sharon Ryan Cynthia Jacob Kathleen Gary Amy "
    "Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra "
    "Patrick Rachel Frank Carolyn Raymond Janet Jack Maria Dennis Olivia Jerry Heather Tyler Diane "
    "Aaron Julie Jose Joyce Adam Victoria Nathan Kelly Henry Christina Zachary Lauren Douglas Joan "
    "Peter Evelyn"
)
_EN_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
    "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon"
)


def _pool(names: Sequence[str]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for name in names:
        ascii_form = _ascii_local(name)
        seen.setdefault(ascii_form, name)
    return [(name, ascii_form) for ascii_form, name in seen.items()]


def _ascii_local(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("ß", "ss").replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


NAMES: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "en": (_pool(_EN_FIRST), _pool([*_EN_LAST, "O'Brien", "O'Connor", "MacLeod"])),
    "de": (
        _pool(
            _words(
                "Lukas Anna Jürgen Sophie Björn Leonie Maximilian Jörg Hannah Felix Lena Jonas Marie Paul Lea "
                "Tim Katrin Uwe Sabine Dieter Ursula Günter Monika Stefan Petra Thomas Andrea Klaus Birgit Ralf"
            )
        ),
        _pool(
            _words(
                "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
                "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
                "Schmitt Werner Krause Meier Lehmann Köhler Weiß Jäger Groß Vogel Friedrich"
            )
        ),
    ),
    "fr": (
        _pool(
            _words(
                "François Hélène Jérôme Amélie Gaël Léa Benoît Noémie Camille Louis Chloé Hugo Manon Théo Inès "
                "Étienne Renée Mathis Clément Margaux Sébastien Élodie Nicolas Julie Aurélien"
            )
        ),
        _pool(
            _words(
                "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre "
                "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert "
                "Bonnet François Faure Rousseau Lemaître Côté Tremblay Gagnon"
            )
        ),
    ),
    "es": (
        _pool(
            _words(
                "José María Alejandro Guadalupe Sofía Andrés Ximena Ramón Lucía Álvaro Begoña Javier Valentina "
                "Diego Camila Fernando Mariana Ricardo Paola Héctor"
            )
        ),
        _pool(
            _words(
                "Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Cruz Morales "
                "Reyes Gutiérrez Ortiz Chávez Ruiz Jiménez Mendoza Vargas Castillo Núñez Peña Ibáñez"
            )
        ),
    ),
    "pt": (
        _pool(
            _words(
                "João Ana Luís Conceição Thiago Letícia Gabriel Beatriz Rafael Larissa Mateus Juliana Lucas "
                "Fernanda Pedro Camila Bruno Aline"
            )
        ),
        _pool(
            _words(
                "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro Martins "
                "Carvalho Almeida Lopes Soares Araújo Gonçalves Magalhães Barbosa Rocha"
            )
        ),
    ),
    "hi": (
        _pool(
            _words(
                "Priya Arjun Ananya Rahul Kavya Vikram Sneha Aditya Pooja Rohan Neha Karan Divya Sanjay Meera "
                "Amit Deepa Suresh Lakshmi Arun"
            )
        ),
        _pool(
            _words(
                "Sharma Patel Iyer Reddy Gupta Nair Banerjee Singh Kumar Das Mehta Joshi Rao Menon Pillai "
                "Chopra Kapoor Verma Mishra Agarwal Bose"
            )
        ),
    ),
    "ja": (
        [
            ("太郎", "taro"),
            ("花子", "hanako"),
            ("健", "ken"),
            ("さくら", "sakura"),
            ("Hiroshi", "hiroshi"),
            ("Yuki", "yuki"),
            ("翔太", "shota"),
            ("美咲", "misaki"),
            ("大輔", "daisuke"),
            ("Haruka", "haruka"),
            ("Kenji", "kenji"),
            ("Aiko", "aiko"),
        ],
        [
            ("山田", "yamada"),
            ("佐藤", "sato"),
            ("鈴木", "suzuki"),
            ("高橋", "takahashi"),
            ("Tanaka", "tanaka"),
            ("Watanabe", "watanabe"),
            ("伊藤", "ito"),
            ("中村", "nakamura"),
            ("Kobayashi", "kobayashi"),
            ("加藤", "kato"),
            ("Yoshida", "yoshida"),
            ("Yamamoto", "yamamoto"),
        ],
    ),
}
LANGUAGE_OF_REGION = {
    "US": "en",
    "CA": "en",
    "GB": "en",
    "AU": "en",
    "DE": "de",
    "FR": "fr",
    "MX": "es",
    "BR": "pt",
    "IN": "hi",
    "JP": "ja",
}
# Canada writes both languages.
FRENCH_SHARE_IN_CA = 0.25

COMPANY_WORDS_A = _words(
    "Blue Northwind Summit Cedar Silver Red Granite Harbor Iron Golden Maple Pacific Atlantic "
    "Crescent Evergreen Pioneer Sterling Bright Clear Rapid Prime Apex Nova Polar Coastal Highland "
    "Oak Willow River Lake Stone Eagle Falcon Orion Vertex Lumen Quantum Sierra Delta Alpine Grün "
    "Süd Élan Nördlich Horizon Beacon Keystone Meridian"
)
COMPANY_WORDS_B = _words(
    "Ridge Peak Bay Valley Field Point Gate Bridge Rock Wave Line Path Works Forge Labs Systems "
    "Logic Point Grove Crest Shore Spring Port Wood Hill Trail Haven Mark Stream Light Star Sky "
    "Wind Fire Core Edge Scale Bloom"
)
COMPANY_WORDS_C = [
    ("Logistics", "logistics"),
    ("Analytics", "analytics"),
    ("Health", "health"),
    ("Legal", "legal"),
    ("Robotics", "robotics"),
    ("Foods", "foods"),
    ("Energy", "energy"),
    ("Capital", "capital"),
    ("Software", "software"),
    ("Consulting", "consulting"),
    ("Manufacturing", "mfg"),
    ("Insurance", "insurance"),
    ("Textiles", "textiles"),
    ("Media", "media"),
    ("Engineering", "eng"),
    ("Pharma", "pharma"),
    ("Retail", "retail"),
    ("Solar", "solar"),
    ("Construction", "construction"),
    ("Travel", "travel"),
    ("Partners", "partners"),
    ("Group", "group"),
    ("Labs", "labs"),
    ("Design", "design"),
    ("Telecom", "telecom"),
    ("Security", "security"),
    ("Biotech", "bio"),
    ("Marine", "marine"),
    ("Motors", "motors"),
    ("Printing", "print"),
]
JOB_TITLES = _words(
    "Account Executive|Head of Procurement|CFO|CEO|Office Manager|Senior Software Engineer|"
    "VP, Sales|Marketing Coordinator|Operations Director|Purchasing Agent|Customer Success Manager|"
    "IT Manager|Sales Representative|Controller|HR Business Partner|Product Manager|Buyer|"
    "Facilities Manager|Director of Finance|Executive Assistant|Project Manager|"
    "Regional Sales Manager|Geschäftsführer|Directrice commerciale|Gerente de Compras|営業部長|"
    "Diretor Comercial",
    sep="|",
)
TAGS = [
    "vip; enterprise",
    "lead",
    "customer",
    "customer; newsletter",
    "partner",
    "prospect; trade-show-2024",
    "VIP",
    "smb; renewal-q3",
    "churn-risk",
    "newsletter",
    "enterprise; emea",
    "lead; webinar",
]
NOTES = [
    "Met at the trade fair",
    "Prefers email, not calls",
    'Asked for the "Pro" price list',
    "Assistant handles scheduling",
    "Call before 10am their time",
    "Referred by a partner",
    "Budget approved for Q3",
    "Do not call on Fridays",
    "Moved from the old CRM",
    "Decision maker",
]
PERSONAL_MAIL = {
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "CA": ["gmail.com", "hotmail.com", "videotron.ca", "shaw.ca"],
    "GB": ["gmail.com", "btinternet.com", "outlook.com", "sky.com"],
    "DE": ["web.de", "gmx.de", "t-online.de", "gmail.com"],
    "FR": ["orange.fr", "free.fr", "gmail.com", "laposte.net"],
    "IN": ["gmail.com", "rediffmail.com", "yahoo.co.in"],
    "BR": ["gmail.com", "uol.com.br", "bol.com.br", "hotmail.com"],
    "AU": ["bigpond.com", "gmail.com", "optusnet.com.au"],
    "JP": ["docomo.ne.jp", "yahoo.co.jp", "gmail.com"],
    "MX": ["gmail.com", "prodigy.net.mx", "hotmail.com"],
}
ROLE_MAILBOXES = ["sales", "info", "support", "accounts", "office", "billing", "contact", "hr"]
BAD_PHONES = [
    "123",
    "555-0000-000000",
    "n/a",
    "0000000",
    "+1 (000) 000-0000",
    "+44 12",
    "call office",
    "TBD",
    "12345678901234567",
    "+49 0",
    "-",
    "ext 22",
]

# Share of values or rows.
P_MOBILE = 0.70
P_WORK_PHONE = 0.66
P_SWITCHBOARD = 0.65
P_EXTENSION = 0.40
P_HOME = 0.12
P_FAX = 0.06
P_OTHER_PHONE = 0.05
P_NO_COMPANY = 0.10
P_WORK_EMAIL = 0.95
P_ROLE_EMAIL = 0.13
P_PERSONAL_EMAIL = 0.10
P_OTHER_EMAIL = 0.04
P_DUPLICATE = 0.05
P_DUPLICATE_EXACT = 0.4
P_BAD_PHONE = 0.02
P_BAD_EMAIL = 0.02
P_UNUSABLE = 0.005
P_DOUBLE_ZERO = 0.02
DUPLICATE_WINDOW = 50_000
SUFFIXES = 10_000


@dataclass
class GeneratedData:
    """What the generator wrote; value counts are exact, the invalid ones are what it meant to be invalid."""

    rows: int
    seed: int
    path: str
    bytes: int
    seconds: float
    companies: int
    phones: int
    emails: int
    duplicate_rows: int
    exact_duplicate_rows: int
    unusable_rows: int
    invalid_phones: int
    invalid_emails: int
    double_zero_phones: int
    rows_without_phone: int
    rows_without_email: int


class NumberPool:
    """Valid numbers of one country and line type, handed out without repeats.

    Validating every generated number with `phonenumbers` would cost as much as the import being measured,
    so a few hundred prefixes are validated once (with several random endings each) and numbers are made by
    appending four digits. Formats are precomputed as templates with the last four digits left open.
    """

    def __init__(self, rng: random.Random, region: str, kind: Any, size: int) -> None:
        import phonenumbers

        while math.gcd(size, SUFFIXES) != 1:
            size += 1
        self.region = region
        self.next = 0
        self.size = size
        self.templates: list[list[str]] = []
        self.formats: list[int] = []
        example = phonenumbers.example_number_for_type(region, kind)
        assert example is not None, (region, kind)
        country_code = example.country_code
        nsn = phonenumbers.national_significant_number(example)
        wanted = {kind, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
        prefixes: set[str] = set()
        attempts = 0
        while len(prefixes) < size:
            attempts += 1
            if attempts > size * 400:
                raise RuntimeError(f"could not find {size} valid {region} prefixes")
            prefix = self._candidate(rng, region, nsn)
            if prefix in prefixes:
                continue
            endings = ["0000", "9999"] + [f"{rng.randrange(SUFFIXES):04d}" for _ in range(4)]
            if all(
                phonenumbers.is_valid_number(
                    number := phonenumbers.PhoneNumber(country_code=country_code, national_number=int(prefix + e))
                )
                and phonenumbers.number_type(number) in wanted
                for e in endings
            ):
                prefixes.add(prefix)
        for prefix in sorted(prefixes):
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(prefix + "0000"))
            self.templates.append(self._templates(number, prefix))
        self.formats = self._format_weights(region)

    @staticmethod
    def _candidate(rng: random.Random, region: str, nsn: str) -> str:
        if region in NANP_AREA_CODES:
            # Real area codes and exchanges: 555 is reserved for fiction, N11 for services.
            while True:
                exchange = rng.randrange(200, 1000)
                if exchange != 555 and exchange % 100 != 11:
                    return rng.choice(NANP_AREA_CODES[region]) + str(exchange)
        keep = 2 if len(nsn) > 8 else 1
        return nsn[:keep] + "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep - 4))

    @staticmethod
    def _templates(number: Any, prefix: str) -> list[str]:
        import phonenumbers
        from phonenumbers import PhoneNumberFormat

        def open_end(text: str) -> str:
            chars = list(text.replace("%", "%%"))
            left = 4
            for i in range(len(chars) - 1, -1, -1):
                if chars[i].isdigit():
                    chars[i] = "%s"
                    left -= 1
                    if not left:
                        break
            return "".join(chars)

        cc = str(number.country_code)
        e164 = open_end(phonenumbers.format_number(number, PhoneNumberFormat.E164))
        intl = open_end(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
        rest = intl.split(" ", 1)[1]
        if cc == "1":
            area, exchange, line = prefix[:3], prefix[3:], "%s%s%s%s"
            return [
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
                f"{area}{exchange}{line}",
                intl,
                e164,
                f"1 ({area}) {exchange}-{line}",
                f"'{e164}",
                f"1-{area}-{exchange}-{line}",
            ]
        return [
            intl,
            e164,
            f"011 {cc} {rest}",
            f"+{cc}.{rest.replace(' ', '.').replace('-', '.')}",
            f"+{cc}-{rest.replace(' ', '-')}",
            f"'{e164}",
            f"+{cc} (0){rest}" if cc in {"44", "49", "61"} else intl,
            f"00{cc} {rest}",
        ]

    @staticmethod
    def _format_weights(region: str) -> list[int]:
        # Index 7 (00 dialling) is drawn separately, at P_DOUBLE_ZERO.
        weights = [5, 2, 1, 1, 2, 2, 1, 1, 1] if region in NANP_AREA_CODES else [6, 3, 1, 1, 1, 1, 1, 0]
        return [index for index, weight in enumerate(weights) for _ in range(weight)]

    def take(self) -> tuple[NumberPool, int, str]:
        """A number not handed out before (until the pool is exhausted, then numbers repeat)."""
        n = self.next
        self.next += 1
        # The pool size is coprime with 10,000, so (n mod size, n * 6337 mod 10,000) repeats only after
        # size * 10,000 numbers (Chinese remainder theorem) while endings look random.
        prefix_index = n % self.size
        ending = (n * 6337 + 1234) % SUFFIXES
        return (self, prefix_index, f"{ending:04d}")


@dataclass
class Company:
    index: int
    name: str
    domain: str
    region: int
    switchboard: tuple[NumberPool, int, str]
    fax: tuple[NumberPool, int, str]
    staff: int = 0


@dataclass
class Person:
    """A person as the generator knows them, before any formatting: duplicates are rendered from this."""

    first: tuple[str, str]
    last: tuple[str, str]
    mailbox: str
    company: Company | None
    region: int
    title: str
    personal_local: str
    personal_domain: str
    mobile: tuple[NumberPool, int, str] | None
    work: tuple[NumberPool, int, str] | None
    extension: str
    home: tuple[NumberPool, int, str] | None
    fax: bool
    other: tuple[NumberPool, int, str] | None
    work_email: bool
    role_email: str
    role_column: int
    personal_email: bool
    other_email: str
    display: int
    tags: str
    notes: str
    unusable: bool = False


class Generator:
    """Streams a deterministic, CRM-export-like CSV: companies with shared switchboards and role mailboxes,
    personal mobiles and addresses, duplicates of earlier people, and a sprinkling of bad values."""

    def __init__(self, rows: int, seed: int) -> None:
        import phonenumbers

        self.rows = rows
        self.rng = random.Random(seed)
        rng = self.rng
        self.region_codes = [r[0] for r in REGIONS]
        self.region_cum = list(_cumulative([r[1] for r in REGIONS]))
        shares = [r[1] / sum(r[1] for r in REGIONS) for r in REGIONS]
        # Enough prefixes that every pool hands out unique numbers at this size (with 1.5x headroom).
        self.mobiles: list[NumberPool] = []
        self.fixed: list[NumberPool] = []
        for (region, *_), share in zip(REGIONS, shares, strict=True):
            mobile_size = max(40, math.ceil(rows * share * (P_MOBILE + P_OTHER_PHONE) * 1.5 / SUFFIXES))
            fixed_size = max(40, math.ceil(rows * share * 0.6 * 1.5 / SUFFIXES))
            self.mobiles.append(NumberPool(rng, region, phonenumbers.PhoneNumberType.MOBILE, mobile_size))
            self.fixed.append(NumberPool(rng, region, phonenumbers.PhoneNumberType.FIXED_LINE, fixed_size))
        self.companies = [self._company(k) for k in range(max(1, rows // 20))]
        # Recently generated people, their row and how many bad phones and e-mails it holds.
        self.recent: list[tuple[Person, list[str], tuple[int, int]]] = []
        self.last_bad = (0, 0)
        self.person_count = 0

    # -- pools ---------------------------------------------------------------------------------------------

    def _region(self) -> int:
        u = self.rng.random() * self.region_cum[-1]
        for index, bound in enumerate(self.region_cum):
            if u < bound:
                return index
        return len(self.region_cum) - 1

    def _company(self, k: int) -> Company:
        rng = self.rng
        region = self._region()
        a_count, b_count, c_count = len(COMPANY_WORDS_A), len(COMPANY_WORDS_B), len(COMPANY_WORDS_C)
        total = a_count * b_count * c_count
        # A bijection over all word combinations: unique names (and domains) until they run out.
        combo = (k * 7919 + 17) % total
        a, rest = divmod(combo, b_count * c_count)
        b, c = divmod(rest, c_count)
        word_a, word_b, (word_c, slug_c) = COMPANY_WORDS_A[a], COMPANY_WORDS_B[b], COMPANY_WORDS_C[c]
        _, _, tld, legal_forms = REGIONS[region]
        legal = rng.choice(legal_forms)
        name = f"{word_a}{word_b.lower()} {word_c}" + (f" {legal}" if legal else "")
        repeat = k // total
        slug = word_a.lower() + word_b.lower() + (f"-{slug_c}" if rng.random() < 0.5 else slug_c)
        # German and French companies keep umlauts and accents in their (internationalized) domain names.
        if not slug.isascii() and self.region_codes[region] not in ("DE", "FR"):
            slug = _ascii_local(slug)
        domain = f"{slug}{repeat if repeat else ''}.{tld}"
        return Company(k, name, domain, region, self.fixed[region].take(), self.fixed[region].take())

    def _pick_company(self) -> Company:
        # Sizes are skewed like real customer bases: a few large accounts, many small ones.
        u = self.rng.random()
        return self.companies[int(u * u * len(self.companies))]

    # -- people --------------------------------------------------------------------------------------------

    def _names(self, region: int, company: Company | None) -> tuple[tuple[str, str], tuple[str, str], str]:
        """First and last name, plus what a company appends to a mailbox name that is already taken."""
        code = self.region_codes[region]
        language = LANGUAGE_OF_REGION[code]
        if code == "CA" and self.rng.random() < FRENCH_SHARE_IN_CA:
            language = "fr"
        firsts, lasts = NAMES[language]
        if company is None:
            return self.rng.choice(firsts), self.rng.choice(lasts), ""
        # Colleagues do not share a mailbox: walk the name space with a per-company stride (7919 is prime,
        # so the walk visits every name before repeating one, and then the mailbox gets a number).
        slot = company.staff
        company.staff += 1
        space = len(firsts) * len(lasts)
        combo = (company.index * 104_729 + slot * 7919) % space
        first_index, last_index = divmod(combo, len(lasts))
        return firsts[first_index], lasts[last_index], str(slot // space + 1) if slot >= space else ""

    def new_person(self) -> Person:
        rng = self.rng
        random_ = rng.random
        self.person_count += 1
        company = None if random_() < P_NO_COMPANY else self._pick_company()
        region = company.region if company is not None and random_() < 0.85 else self._region()
        first, last, mailbox_suffix = self._names(region, company)
        code = self.region_codes[region]
        unique = f"{(self.person_count * 7919) % 10_000_000}"
        shape = random_()
        if shape < 0.5:
            personal_local = f"{first[1]}.{last[1]}{unique}"
        elif shape < 0.8:
            personal_local = f"{first[1]}{last[1]}{unique}"
        else:
            personal_local = f"{first[1][0]}{last[1]}{unique}"
        work = None
        extension = ""
        fax = False
        role_email = ""
        if company is not None:
            if random_() < P_WORK_PHONE:
                if random_() < P_SWITCHBOARD:
                    work = company.switchboard
                    if random_() < P_EXTENSION:
                        extension = rng.choice((" x", " x", " ext. ", " ext ")) + str(rng.randrange(10, 9999))
                else:
                    work = self.fixed[company.region].take()
            fax = random_() < P_FAX / (1 - P_NO_COMPANY)
            if random_() < P_ROLE_EMAIL:
                role_email = f"{rng.choice(ROLE_MAILBOXES)}@{company.domain}"
        return Person(
            first=first,
            last=last,
            mailbox=f"{first[1]}.{last[1]}{mailbox_suffix}",
            company=company,
            region=region,
            title=rng.choice(JOB_TITLES) if company is not None and random_() < 0.7 else "",
            personal_local=personal_local,
            personal_domain=rng.choice(PERSONAL_MAIL[code]),
            mobile=self.mobiles[region].take() if random_() < P_MOBILE else None,
            work=work,
            extension=extension,
            home=self.fixed[region].take() if random_() < P_HOME else None,
            fax=fax,
            other=self.mobiles[region].take() if random_() < P_OTHER_PHONE else None,
            work_email=company is not None and random_() < P_WORK_EMAIL,
            role_email=role_email,
            role_column=14 if random_() < 0.6 else 16,
            personal_email=random_() < (P_PERSONAL_EMAIL if company is not None else 0.95),
            other_email=(f"{personal_local}@{rng.choice(PERSONAL_MAIL[code])}" if random_() < P_OTHER_EMAIL else ""),
            display=int(random_() * 10),
            tags=rng.choice(TAGS) if random_() < 0.3 else "",
            notes=_note(rng) if random_() < 0.12 else "",
        )

    def unusable_person(self) -> Person:
        """A row with nothing to identify anyone: only a company, a title or a note."""
        rng = self.rng
        person = self.new_person()
        person.unusable = True
        shape = rng.randrange(3)
        person.company = person.company if shape == 0 else None
        person.title = rng.choice(JOB_TITLES) if shape == 1 else ""
        person.notes = rng.choice(NOTES) if shape == 2 else ""
        return person

    # -- rendering -----------------------------------------------------------------------------------------

    def phone(self, ref: tuple[NumberPool, int, str], extension: str = "") -> str:
        pool, prefix_index, ending = ref
        fmt = self.rng.choice(pool.formats)
        if self.rng.random() < P_DOUBLE_ZERO and pool.region not in NANP_AREA_CODES:
            fmt = 7
        return (pool.templates[prefix_index][fmt] % tuple(ending)) + extension

    def email(self, address: str) -> str:
        u = self.rng.random()
        if u < 0.78:
            pass
        elif u < 0.90:
            local, _, domain = address.partition("@")
            address = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
        elif u < 0.95:
            address = address.upper()
        else:
            local, _, domain = address.partition("@")
            address = f"{local}@{domain.capitalize()}"
        u = self.rng.random()
        if u < 0.02:
            return f" {address}"
        if u < 0.04:
            return f"{address} "
        return address

    def render(self, person: Person, external_id: str, stats: dict[str, int]) -> list[str]:
        rng = self.rng
        random_ = rng.random
        row = [""] * len(COLUMNS)
        row[0] = external_id
        company = person.company
        if person.unusable:
            row[4] = company.name if company is not None else ""
            row[5] = person.title
            row[6] = person.notes
            stats["rows_without_phone"] += 1
            stats["rows_without_email"] += 1
            return row
        first, last = person.first[0], person.last[0]
        row[1], row[2] = first, last
        if person.display < 3:
            row[3] = f"{first} {last}"
        elif person.display == 3:
            row[3] = f"{last}, {first}"
        if company is not None:
            row[4] = company.name
        row[5] = person.title
        row[6] = person.notes
        row[7] = person.tags
        phones = 0
        if person.mobile is not None:
            row[8] = self.phone(person.mobile)
            phones += 1
        if person.work is not None:
            row[9] = self.phone(person.work, person.extension)
            phones += 1
        if person.home is not None:
            row[10] = self.phone(person.home)
            phones += 1
        if person.fax and company is not None:
            row[11] = self.phone(company.fax)
            phones += 1
        if person.other is not None:
            row[12] = self.phone(person.other)
            phones += 1
        bad_phones = bad_emails = 0
        for column in range(8, 13):
            if row[column] and random_() < P_BAD_PHONE:
                row[column] = _bad_phone(rng)
                bad_phones += 1
            elif row[column].startswith("00"):
                stats["double_zero_phones"] += 1
        emails = 0
        if person.work_email and company is not None:
            row[13] = self.email(f"{person.mailbox}@{company.domain}")
            emails += 1
        if person.role_email:
            column = 14 if person.other_email else person.role_column
            row[column] = self.email(person.role_email)
            emails += 1
        if person.personal_email:
            address = self.email(f"{person.personal_local}@{person.personal_domain}")
            row[15 if row[13] else 13] = address
            emails += 1
        if person.other_email:
            row[16] = self.email(person.other_email)
            emails += 1
        for column in range(13, 17):
            if row[column] and random_() < P_BAD_EMAIL:
                row[column] = _bad_email(rng, row[column])
                bad_emails += 1
        stats["phones"] += phones
        stats["emails"] += emails
        stats["rows_without_phone"] += phones == 0
        stats["rows_without_email"] += emails == 0
        stats["invalid_phones"] += bad_phones
        stats["invalid_emails"] += bad_emails
        self.last_bad = (bad_phones, bad_emails)
        return row

    def reformatted(self, row: list[str]) -> list[str]:
        """The same person entered again by someone else: casing and spacing differ, the data does not."""
        rng = self.rng
        row = list(row)
        if rng.random() < 0.5:
            row[1], row[2] = row[1].upper(), row[2].upper()
        for column in range(13, 17):
            if row[column]:
                row[column] = rng.choice((str.lower, str.upper, str.strip, lambda v: f" {v.strip()} "))(row[column])
        return row

    def rows_iter(self, stats: dict[str, int]) -> Iterator[list[str]]:
        rng = self.rng
        random_ = rng.random
        recent = self.recent
        for index in range(self.rows):
            external_id = f"CRM-{(index * 2654435761 + 97) % 2**32:08X}"
            u = random_()
            if recent and u < P_DUPLICATE:
                person, previous, bad = recent[int(random_() * len(recent))]
                stats["duplicate_rows"] += 1
                if random_() < P_DUPLICATE_EXACT:
                    stats["exact_duplicate_rows"] += 1
                    row = list(previous)
                    row[0] = external_id
                    _count_values(row, bad, stats)
                elif random_() < 0.5:
                    row = self.reformatted(previous)
                    row[0] = external_id
                    _count_values(row, bad, stats)
                else:
                    row = self.render(person, external_id, stats)
                yield row
                continue
            if P_DUPLICATE <= u < P_DUPLICATE + P_UNUSABLE:
                stats["unusable_rows"] += 1
                yield self.render(self.unusable_person(), external_id, stats)
                continue
            person = self.new_person()
            row = self.render(person, external_id, stats)
            if len(recent) < DUPLICATE_WINDOW:
                recent.append((person, row, self.last_bad))
            else:
                recent[int(random_() * DUPLICATE_WINDOW)] = (person, row, self.last_bad)
            yield row


def _cumulative(values: Sequence[int]) -> Iterator[int]:
    total = 0
    for value in values:
        total += value
        yield total


def _note(rng: random.Random) -> str:
    note = rng.choice(NOTES)
    if rng.random() < 0.05:
        note += "\nFollow-up: " + rng.choice(NOTES).lower()
    return note


def _bad_phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(BAD_PHONES)
    return str(rng.randrange(100, 100_000))


def _bad_email(rng: random.Random, value: str) -> str:
    value = value.strip()
    local, _, domain = value.partition("@")
    return rng.choice(
        (
            f"{local}@",
            f"{local} at {domain}",
            f"{local}@@{domain}",
            f"{local}@{domain.split('.')[0]}",
            f"{local[:1]} {local[1:]}@{domain}",
            f"{local}@{domain}..",
            "no at sign",
        )
    )


def _count_values(row: list[str], bad: tuple[int, int], stats: dict[str, int]) -> None:
    """Account for a copied row, whose bad values were decided when it was first rendered."""
    stats["invalid_phones"] += bad[0]
    stats["invalid_emails"] += bad[1]
    phones = sum(1 for value in row[8:13] if value)
    emails = sum(1 for value in row[13:17] if value)
    stats["phones"] += phones
    stats["emails"] += emails
    stats["rows_without_phone"] += phones == 0
    stats["rows_without_email"] += emails == 0
    for value in row[8:13]:
        if value.startswith("00"):
            stats["double_zero_phones"] += 1


def generate_csv(path: Path, rows: int, seed: int) -> GeneratedData:
    """Write the file in batches: the generator keeps only a bounded window of recent people in memory."""
    started = time.perf_counter()
    generator = Generator(rows, seed)
    stats = dict.fromkeys(
        (
            "phones",
            "emails",
            "duplicate_rows",
            "exact_duplicate_rows",
            "unusable_rows",
            "invalid_phones",
            "invalid_emails",
            "double_zero_phones",
            "rows_without_phone",
            "rows_without_email",
        ),
        0,
    )
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        batch: list[list[str]] = []
        for row in generator.rows_iter(stats):
            batch.append(row)
            if len(batch) >= 20_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    partial.replace(path)
    return GeneratedData(
        rows=rows,
        seed=seed,
        path=str(path),
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
        companies=len(generator.companies),
        **stats,
    )


def generated_file(workdir: Path, rows: int, seed: int) -> GeneratedData:
    """Reuse a file generated earlier with the same parameters: generation is deterministic."""
    path = workdir / f"contacts_{rows}_s{seed}_v{GENERATOR_VERSION}.csv"
    stats_path = path.with_suffix(".json")
    if path.exists() and stats_path.exists():
        data = GeneratedData(**json.loads(stats_path.read_text()))
        if data.bytes == path.stat().st_size:
            print(f"reusing {path} (generated in {data.seconds:.1f} s)")
            return data
    print(f"generating {rows:,} rows into {path} ...", flush=True)
    data = generate_csv(path, rows, seed)
    stats_path.write_text(json.dumps(asdict(data), indent=2))
    return data


# --------------------------------------------------------------------------------------------------------------
# Normalization floor
# --------------------------------------------------------------------------------------------------------------


def _system_busy_seconds() -> float | None:
    """CPU time all cores spent on work since boot (user, nice, system, interrupts), from /proc/stat."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _database_server_cpu_seconds() -> float:
    """CPU time of local PostgreSQL server processes: work done for our import, not by other programs."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        name, rest = stat.split(b"(", 1)[1].rsplit(b")", 1)
        if name.startswith(b"postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """How many cores other programs kept busy during a measurement.

    Developer machines and CI runners are shared; a ratio measured while something else ran is not a
    property of the import. Machine-wide busy CPU time, minus this process's, its waited-for children's and
    the local database server's, per second of wall time, tells whether a number can be trusted.
    """

    def __init__(self) -> None:
        self.busy = _system_busy_seconds()
        self.own = self._ours()

    @staticmethod
    def _ours() -> float:
        own = _own_cpu_seconds(resource.RUSAGE_SELF) + _own_cpu_seconds(resource.RUSAGE_CHILDREN)
        return own + _database_server_cpu_seconds()

    def stop(self, wall_seconds: float) -> float | None:
        busy = _system_busy_seconds()
        if busy is None or self.busy is None or wall_seconds <= 0:
            return None
        foreign = (busy - self.busy) - (self._ours() - self.own)
        return max(0.0, foreign / wall_seconds)


@dataclass
class FloorResult:
    seconds: float
    other_load: float | None
    phones: int
    emails: int
    distinct_phones: int
    distinct_emails: int
    valid_phones: int
    valid_emails: int
    distinct_e164: int
    distinct_valid_emails: int


def read_values(path: Path) -> tuple[list[str], list[str]]:
    phones: list[str] = []
    emails: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        phone_at = [header.index(c) for c in PHONE_COLUMNS]
        email_at = [header.index(c) for c in EMAIL_COLUMNS]
        for row in reader:
            phones.extend(v for i in phone_at if (v := row[i]))
            emails.extend(v for i in email_at if (v := row[i]))
    return phones, emails


def floor_phone(value: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(value, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def floor_email(value: str) -> str | None:
    import email_validator

    # Trimming and lower-casing are part of what the product does and cost nothing next to validation.
    try:
        return email_validator.validate_email(value.strip().lower(), check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        return None


def normalization_floor(path: Path) -> FloorResult:
    """The validation work alone, once per distinct value, in one process: what no import can avoid."""
    phones, emails = read_values(path)
    floor_phone("+1 212 555 0100")
    floor_email("warm@up.com")
    phone_cache: dict[str, str | None] = {}
    email_cache: dict[str, str | None] = {}
    meter = OtherLoad()
    started = time.perf_counter()
    for value in phones:
        if value not in phone_cache:
            phone_cache[value] = floor_phone(value)
    for value in emails:
        if value not in email_cache:
            email_cache[value] = floor_email(value)
    seconds = time.perf_counter() - started
    return FloorResult(
        seconds=seconds,
        other_load=meter.stop(seconds),
        phones=len(phones),
        emails=len(emails),
        distinct_phones=len(phone_cache),
        distinct_emails=len(email_cache),
        valid_phones=sum(1 for v in phones if phone_cache[v] is not None),
        valid_emails=sum(1 for v in emails if email_cache[v] is not None),
        distinct_e164=len({v for v in phone_cache.values() if v is not None}),
        distinct_valid_emails=len({v for v in email_cache.values() if v is not None}),
    )


# --------------------------------------------------------------------------------------------------------------
# Child processes: our imports and the naive baseline, each measured on its own
# --------------------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    seconds: float
    rss_self_mb: float
    rss_children_mb: float
    tree_peak_mb: float | None
    other_load: float | None
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_rss_mb(self) -> float:
        return max(self.rss_self_mb, self.rss_children_mb)


def child_main(spec_path: Path) -> None:
    """Entry point inside the child: do one task, then report its time and this process tree's peak RSS."""
    spec = json.loads(spec_path.read_text())
    task = spec["task"]
    # Library imports are start-up cost, not import cost: load them before the clock starts.
    if task == "import":
        import pipelines.csv_import  # noqa: F401
    elif task == "naive":
        import email_validator  # noqa: F401
        import pandas  # noqa: F401
        import phonenumbers  # noqa: F401
        import sqlalchemy  # noqa: F401
    started = time.perf_counter()
    if task == "import":
        counts = run_our_import(spec)
    elif task == "naive":
        counts = run_naive_import(Path(spec["csv"]), Path(spec["db"]))
    else:
        raise SystemExit(f"unknown task {task!r}")
    seconds = time.perf_counter() - started
    own = _own_peak_rss_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "seconds": seconds,
        "rss_self_mb": own,
        "rss_children_mb": children,
        "counts": counts,
    }
    Path(spec["result"]).write_text(json.dumps(result))


def _own_peak_rss_mb() -> float:
    """This process's peak RSS since it started running this script.

    `ru_maxrss` survives exec on Linux: a child forked from a large parent (this benchmark, after the
    normalization floor filled its caches) reports the parent's size. `VmHWM` belongs to the new image.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_our_import(spec: dict[str, Any]) -> dict[str, Any]:
    from pipelines.csv_import import import_csv

    result = import_csv(
        Path(spec["csv"]),
        spec["url"],
        uuid.UUID(spec["customer"]),
        region=REGION,
        workers=spec.get("workers"),
    )
    names = ("read", "inserted", "updated", "unchanged", "rejected", "values_rejected")
    counts: dict[str, Any] = {name: getattr(result, name, None) for name in names}
    counts["import_seconds"] = round(float(getattr(result, "seconds", 0.0)), 2)
    return counts


def run_naive_import(csv_path: Path, db_path: Path) -> dict[str, Any]:
    """What a data engineer would write first: pandas, a row-wise apply, `to_sql`. No caching, no batching."""
    import email_validator
    import pandas as pd
    import phonenumbers
    import sqlalchemy as sa

    def clean_phone(value: str) -> str | None:
        if not value:
            return None
        try:
            number = phonenumbers.parse(value, REGION)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean_email(value: str) -> str | None:
        if not value:
            return None
        try:
            return email_validator.validate_email(value.strip().lower(), check_deliverability=False).normalized
        except email_validator.EmailNotValidError:
            return None

    def clean_row(row: pd.Series) -> tuple[str | None, ...]:
        return tuple(clean_phone(row[c]) for c in PHONE_COLUMNS) + tuple(clean_email(row[c]) for c in EMAIL_COLUMNS)

    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    cleaned = df.apply(clean_row, axis=1, result_type="expand")
    cleaned.columns = PHONE_COLUMNS + EMAIL_COLUMNS
    has_name = (df[NAME_COLUMNS] != "").any(axis=1)
    keep = has_name | cleaned.notna().any(axis=1)
    contacts = df.loc[keep, ["external_id", "first_name", "last_name", "display_name", "company", "job_title"]]
    contacts = contacts.assign(notes=df["notes"], tags=df["tags"])
    phones = pd.concat(
        [
            pd.DataFrame({"external_id": df["external_id"], "type": c.removesuffix("_phone"), "e164": cleaned[c]})
            for c in PHONE_COLUMNS
        ]
    ).dropna(subset=["e164"])
    emails = pd.concat(
        [
            pd.DataFrame({"external_id": df["external_id"], "type": c.removesuffix("_email"), "address": cleaned[c]})
            for c in EMAIL_COLUMNS
        ]
    ).dropna(subset=["address"])
    phones = phones[phones["external_id"].isin(contacts["external_id"])]
    emails = emails[emails["external_id"].isin(contacts["external_id"])]
    engine = sa.create_engine(f"sqlite:///{db_path}")
    contacts.to_sql("contacts", engine, index=False, method=None)
    phones.to_sql("phones", engine, index=False, method=None)
    emails.to_sql("emails", engine, index=False, method=None)
    engine.dispose()
    return {"read": len(df), "inserted": len(contacts), "phones": len(phones), "emails": len(emails)}


def _process_tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants now (an upper bound: shared pages count twice)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total / (1024 * 1024)


class ChildFailed(RuntimeError):
    pass


def run_child(spec: dict[str, Any], workdir: Path, label: str, rows: int) -> RunResult:
    """Run one task in a fresh interpreter, sampling its process tree's memory from outside meanwhile."""
    slug = label.lower().replace(" ", "_").replace("-", "") + f"_{rows}"
    spec_path = workdir / f"{slug}.spec.json"
    result_path = workdir / f"{slug}.result.json"
    log_path = workdir / f"{slug}.log"
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    print(f"  {label} ...", end="", flush=True)
    sample_tree = Path("/proc/self/stat").exists()
    tree_peak = 0.0
    meter = OtherLoad()
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
        while process.poll() is None:
            if sample_tree:
                tree_peak = max(tree_peak, _process_tree_rss_mb(process.pid))
            time.sleep(0.2)
    # The child has been waited for, so its CPU time (and its workers') is in RUSAGE_CHILDREN now.
    other_load = meter.stop(time.perf_counter() - started)
    if process.returncode != 0 or not result_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
        print(f" failed, see {log_path}")
        raise ChildFailed(f"{label} failed (exit {process.returncode}, log {log_path}): {' '.join(tail)}")
    data = json.loads(result_path.read_text())
    run = RunResult(
        seconds=data["seconds"],
        rss_self_mb=data["rss_self_mb"],
        rss_children_mb=data["rss_children_mb"],
        tree_peak_mb=tree_peak if sample_tree else None,
        other_load=other_load,
        counts=data["counts"],
    )
    print(f" {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB", flush=True)
    return run


# --------------------------------------------------------------------------------------------------------------
# PostgreSQL database lifecycle
# --------------------------------------------------------------------------------------------------------------


def admin_conninfo(url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.database:
        raise ValueError(f"the PostgreSQL URL names no database: {url}")
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database


def recreate_pg_database(url: str) -> str | None:
    """Drop and create the benchmark database; the reason it cannot, or None."""
    try:
        import psycopg
        from psycopg import sql

        conninfo, name = admin_conninfo(url)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except Exception as exc:  # any failure means "no PostgreSQL here", reported as a note
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def drop_pg_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_server_version(url: str) -> str | None:
    try:
        import psycopg

        conninfo, _ = admin_conninfo(url)
        with psycopg.connect(conninfo, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:  # only informational
        return None


# --------------------------------------------------------------------------------------------------------------
# One benchmark size
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SizeReport:
    rows: int
    data: GeneratedData
    floor: FloorResult
    runs: dict[str, RunResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


STEP_FLOOR = "normalization floor"
STEP_SQLITE = "SQLite import"
STEP_SQLITE_AGAIN = "SQLite re-import"
STEP_PG = "PostgreSQL import"
STEP_PG_AGAIN = "PostgreSQL re-import"
STEP_NAIVE = "naive pandas to SQLite"


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def bench_size(rows: int, args: argparse.Namespace, workdir: Path) -> SizeReport:
    print(f"\n== {rows:,} rows ==")
    data = generated_file(workdir, rows, args.seed)
    print(f"  generated in {data.seconds:.1f} s, {data.bytes / 1e6:.0f} MB")
    print("  normalization floor ...", end="", flush=True)
    floor = normalization_floor(Path(data.path))
    print(f" {floor.seconds:.1f} s", flush=True)
    report = SizeReport(rows=rows, data=data, floor=floor)
    csv_path = data.path
    common = {"task": "import", "csv": csv_path, "customer": str(CUSTOMER_ID), "workers": args.workers}

    def run(step: str, spec: dict[str, Any]) -> bool:
        try:
            report.runs[step] = run_child(spec, workdir, step, rows)
        except ChildFailed as exc:
            report.notes.append(str(exc))
            return False
        return True

    sqlite_path = workdir / f"contacts_{rows}.db"
    _remove_sqlite(sqlite_path)
    sqlite_url = f"sqlite:///{sqlite_path}"
    if run(STEP_SQLITE, {**common, "url": sqlite_url}):
        run(STEP_SQLITE_AGAIN, {**common, "url": sqlite_url})

    if args.skip_pg:
        report.notes.append("PostgreSQL skipped (--skip-pg)")
    else:
        problem = recreate_pg_database(args.pg_url)
        if problem:
            report.notes.append(f"PostgreSQL skipped: {args.pg_url} unreachable ({problem})")
            print(f"  {report.notes[-1]}")
        else:
            try:
                if run(STEP_PG, {**common, "url": args.pg_url}):
                    run(STEP_PG_AGAIN, {**common, "url": args.pg_url})
            finally:
                drop_pg_database(args.pg_url)

    if args.skip_naive:
        report.notes.append("naive baseline skipped (--skip-naive)")
    else:
        naive_db = workdir / f"naive_{rows}.db"
        _remove_sqlite(naive_db)
        run(STEP_NAIVE, {"task": "naive", "csv": csv_path, "db": str(naive_db)})
    return report


# --------------------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------------------


def machine_lines() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"CPU: {cpu}, {cores} cores ({usable} usable)",
        f"RAM: {ram}",
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"load average at start: {load_average()}",
    ]


def load_average() -> str:
    """Other work on the machine skews every ratio here; the load average makes that visible in the report."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def library_versions(pg_url: str | None) -> str:
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("phonenumbers", "email-validator", "pandas", "SQLAlchemy", "psycopg"):
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{name} {version(name)}")
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if pg_url:
        server = pg_server_version(pg_url)
        if server:
            parts.append(f"PostgreSQL {server}")
    return ", ".join(parts)


def data_lines(report: SizeReport) -> list[str]:
    d, f = report.data, report.floor
    rows = d.rows

    def share(part: int, whole: int) -> str:
        return f"{part / whole:.1%}" if whole else "-"

    return [
        f"rows {rows:,}; companies {d.companies:,}; file {d.bytes / 1e6:.1f} MB, generated in {d.seconds:.1f} s",
        f"phones {d.phones:,} ({d.phones / rows:.2f}/row); distinct values {f.distinct_phones:,} "
        f"({share(f.distinct_phones, d.phones)}); distinct valid E.164 {f.distinct_e164:,} "
        f"({share(f.distinct_e164, d.phones)}); rows without phone {share(d.rows_without_phone, rows)}",
        f"emails {d.emails:,} ({d.emails / rows:.2f}/row); distinct values {f.distinct_emails:,} "
        f"({share(f.distinct_emails, d.emails)}); distinct valid addresses {f.distinct_valid_emails:,} "
        f"({share(f.distinct_valid_emails, d.emails)}); rows without email {share(d.rows_without_email, rows)}",
        f"duplicate rows {d.duplicate_rows:,} ({share(d.duplicate_rows, rows)}; {d.exact_duplicate_rows:,} exact); "
        f"rows with nothing usable {d.unusable_rows:,} ({share(d.unusable_rows, rows)})",
        f"invalid phones planned {d.invalid_phones:,} ({share(d.invalid_phones, d.phones)}) + {d.double_zero_phones:,} "
        f"dialled with 00 (invalid to plain phonenumbers under region US); floor found "
        f"{d.phones - f.valid_phones:,} invalid",
        f"invalid emails planned {d.invalid_emails:,} ({share(d.invalid_emails, d.emails)}); floor found "
        f"{d.emails - f.valid_emails:,} invalid",
    ]


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def results_table(reports: Sequence[SizeReport]) -> list[str]:
    lines = [
        "| step | rows | seconds | rows/s | × floor time | speed-up vs naive | peak RSS MB | tree RSS MB "
        "| other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        floor_s = report.floor.seconds
        naive = report.runs.get(STEP_NAIVE)
        lines.append(
            f"| {STEP_FLOOR} | {report.rows:,} | {floor_s:.2f} | {report.rows / floor_s:,.0f} | 1.00 | - | - | - | "
            f"{_fmt(report.floor.other_load, '.2f')} |"
        )
        for step in (STEP_SQLITE, STEP_SQLITE_AGAIN, STEP_PG, STEP_PG_AGAIN, STEP_NAIVE):
            run = report.runs.get(step)
            if run is None:
                continue
            speedup = naive.seconds / run.seconds if naive is not None and step != STEP_NAIVE else None
            lines.append(
                f"| {step} | {report.rows:,} | {run.seconds:.2f} | {report.rows / run.seconds:,.0f} | "
                f"{run.seconds / floor_s:.2f} | {_fmt(speedup, '.1f')} | {run.peak_rss_mb:.0f} | "
                f"{_fmt(run.tree_peak_mb, '.0f')} | {_fmt(run.other_load, '.2f')} |"
            )
    return lines


def counts_lines(reports: Sequence[SizeReport]) -> list[str]:
    lines = []
    for report in reports:
        for step, run in report.runs.items():
            shown = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in run.counts.items())
            lines.append(f"{report.rows:,} rows, {step}: {shown}")
            if step in (STEP_SQLITE_AGAIN, STEP_PG_AGAIN):
                changed = (run.counts.get("inserted") or 0) + (run.counts.get("updated") or 0)
                if changed:
                    lines.append(f"  WARNING: re-importing an unchanged file wrote {changed:,} contacts")
    return lines


@dataclass
class Check:
    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        verdict = "SKIP" if self.ok is None else "PASS" if self.ok else "FAIL"
        return f"{verdict}  {self.name}: {self.detail}"


def checks(reports: Sequence[SizeReport]) -> list[Check]:
    results: list[Check] = []
    our_imports = (STEP_SQLITE, STEP_SQLITE_AGAIN, STEP_PG, STEP_PG_AGAIN)
    for report in reports:
        at = f"{report.rows:,} rows"
        scale = "" if report.rows == 1_000_000 else " (target defined at 1M rows)"
        floor_s = report.floor.seconds
        sqlite = report.runs.get(STEP_SQLITE)
        if sqlite is None:
            results.append(Check(f"SQLite import at {at}", False, "the import did not complete (see notes)"))
            continue
        ratio = sqlite.seconds / floor_s
        results.append(
            Check(
                f"SQLite import ≤ {MAX_FLOOR_RATIO}× floor time at {at}",
                ratio <= MAX_FLOOR_RATIO,
                f"{sqlite.seconds:.1f} s vs floor {floor_s:.1f} s = {ratio:.2f}×{scale}",
            )
        )
        naive = report.runs.get(STEP_NAIVE)
        if naive is None:
            results.append(Check(f"≥ {MIN_SPEEDUP_VS_NAIVE}× faster than naive at {at}", None, "naive skipped"))
        else:
            speedup = naive.seconds / sqlite.seconds
            results.append(
                Check(
                    f"SQLite import ≥ {MIN_SPEEDUP_VS_NAIVE}× faster than naive at {at}",
                    speedup >= MIN_SPEEDUP_VS_NAIVE,
                    f"naive {naive.seconds:.1f} s / ours {sqlite.seconds:.1f} s = {speedup:.1f}×",
                )
            )
        for first, again in ((STEP_SQLITE, STEP_SQLITE_AGAIN), (STEP_PG, STEP_PG_AGAIN)):
            if first not in report.runs or again not in report.runs:
                continue
            speedup = report.runs[first].seconds / report.runs[again].seconds
            results.append(
                Check(
                    f"{again} ≥ {MIN_REIMPORT_SPEEDUP}× faster than first import at {at}",
                    speedup >= MIN_REIMPORT_SPEEDUP,
                    f"{report.runs[first].seconds:.1f} s / {report.runs[again].seconds:.1f} s = {speedup:.1f}×",
                )
            )
        for step in our_imports:
            run = report.runs.get(step)
            if run is None:
                continue
            tree = f"; sampled tree sum {run.tree_peak_mb:.0f} MB" if run.tree_peak_mb is not None else ""
            results.append(
                Check(
                    f"{step} peak RSS ≤ {MAX_RSS_MB:.0f} MB at {at}",
                    run.peak_rss_mb <= MAX_RSS_MB,
                    f"{run.peak_rss_mb:.0f} MB (process {run.rss_self_mb:.0f}, largest child "
                    f"{run.rss_children_mb:.0f}){tree}",
                )
            )
    if len(reports) >= 2:
        small, large = min(reports, key=lambda r: r.rows), max(reports, key=lambda r: r.rows)
        for step in our_imports:
            if step not in small.runs or step not in large.runs:
                continue
            a, b = small.runs[step].peak_rss_mb, large.runs[step].peak_rss_mb
            results.append(
                Check(
                    f"{step} RSS flat from {small.rows:,} to {large.rows:,} rows",
                    b <= a * RSS_GROWTH_TOLERANCE,
                    f"{a:.0f} MB → {b:.0f} MB ({b / a:.2f}×, allowed {RSS_GROWTH_TOLERANCE:.2f}×)",
                )
            )
    return results


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the CSV import against the normalization floor and a naive pandas import."
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate (default 1,000,000)")
    parser.add_argument(
        "--rows-list",
        type=_rows_list,
        help="comma-separated sizes to run in turn (e.g. 1000000,3000000); overrides --rows and checks that "
        "peak memory does not grow with the size",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(PG_URL_ENV, DEFAULT_PG_URL),
        help=f"PostgreSQL URL of a database the benchmark may drop and create (${PG_URL_ENV}, default "
        f"{DEFAULT_PG_URL})",
    )
    parser.add_argument("--skip-naive", action="store_true", help="do not run the pandas baseline")
    parser.add_argument("--skip-pg", action="store_true", help="do not run the PostgreSQL imports")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "contact-sync-bench",
        help="where generated files and databases go (default: %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=None, help="workers= passed to import_csv (default: its own)")
    parser.add_argument("--seed", type=int, default=SEED, help="generator seed (default %(default)s)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _rows_list(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of row counts: {text!r}") from exc
    if not sizes or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"row counts must be positive: {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        child_main(args.child)
        return 0
    sizes: list[int] = args.rows_list or [args.rows]
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)

    print("# contact-sync CSV import benchmark\n")
    for line in machine_lines():
        print(f"- {line}")
    print(f"- {library_versions(None if args.skip_pg else args.pg_url)}")
    print(f"- workdir {workdir}; seed {args.seed}; region {REGION}; workers {args.workers or 'default'}")

    reports = [bench_size(rows, args, workdir) for rows in sizes]

    for report in reports:
        print(f"\n## Data: {report.rows:,} rows\n")
        for line in data_lines(report):
            print(f"- {line}")
    print("\n## Results\n")
    _print_lines(results_table(reports))
    print(
        "\npeak RSS = max(peak RSS (VmHWM) of the import process, ru_maxrss of its largest worker); tree RSS = largest "
        "sum of RSS over the whole process tree, sampled every 0.2 s (an upper bound: shared pages count in "
        "every process); other load = cores kept busy by other programs meanwhile (the PostgreSQL server's work "
        "excluded): above ~0.2 the timings of that step are disturbed."
    )
    print("\n## Import counts\n")
    _print_lines(counts_lines(reports))
    notes = [note for report in reports for note in report.notes]
    if notes:
        print("\n## Notes\n")
        _print_lines(f"- {note}" for note in dict.fromkeys(notes))
    print("\n## Targets\n")
    results = checks(reports)
    _print_lines(check.line() for check in results)
    return 1 if any(check.ok is False for check in results) else 0


def _print_lines(lines: Iterator[str] | Sequence[str]) -> None:
    for line in lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
