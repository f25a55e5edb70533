"""Write `examples/contacts.csv`, the bundled sample that `make demo` imports.

The sample is meant to look like a contact export a customer would actually hand over, so that the demo
exercises the awkward parts of an import rather than a happy path: accented and non-Latin names, phones
from ten countries in the formats people and spreadsheets really produce, untidy e-mail addresses,
duplicates, and a small share of values that must end up as rejects.

The output is committed next to this script. It is regenerated deterministically (fixed seed, no clock,
no network), so a diff of `contacts.csv` after running the script only shows intended changes. Phone
numbers are checked against the `phonenumbers` metadata while they are made; a newer `phonenumbers`
release can therefore move a few digits, which is why the file is committed rather than built on demand.

Usage: `python examples/make_sample.py [--out examples/contacts.csv] [--seed N]`
"""

from __future__ import annotations

import argparse
import csv
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

SEED = 20240611
BASE_PEOPLE = 361

HEADER = [
    "external_id",
    "first_name",
    "last_name",
    "display_name",
    "company",
    "job_title",
    "email",
    "work_email",
    "personal_email",
    "other_email",
    "mobile_phone",
    "work_phone",
    "home_phone",
    "fax",
    "other_phone",
    "tags",
    "notes",
]

# Real North American area codes: the 555 exchange is fiction and would teach the demo nothing.
NANP_AREA_CODES = {
    "US": ["212", "312", "415", "617", "206", "512", "303", "404", "305", "713", "646", "408", "503", "615"],
    "CA": ["416", "604", "514", "403", "613", "780", "902", "905"],
}

# locale -> (phone region, given names, family names, personal mail domains)
LOCALES: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "us": (
        "US",
        ["James", "Mary", "Robert", "Jennifer", "Michael", "Linda", "David", "Emily", "Chris", "Ashley", "Zoë"],
        ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "O'Connor", "Nguyen", "Lee"],
        ["gmail.com", "yahoo.com", "outlook.com", "icloud.com"],
    ),
    "ca": (
        "CA",
        ["Liam", "Olivia", "Noah", "Chloé", "Étienne", "Renée", "Mathis", "Aiden"],
        ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "MacDonald", "Wilson"],
        ["gmail.com", "videotron.ca", "hotmail.com"],
    ),
    "gb": (
        "GB",
        ["Oliver", "Amelia", "Harry", "Isla", "George", "Siobhán", "Niamh", "Callum"],
        ["Taylor", "Evans", "Wright", "Thompson", "Walker", "O'Brien", "Hughes"],
        ["gmail.com", "btinternet.com", "outlook.com"],
    ),
    "de": (
        "DE",
        ["Lukas", "Anna", "Jürgen", "Sophie", "Björn", "Leonie", "Maximilian", "Jörg"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Becker", "Größer", "Hoffmann"],
        ["web.de", "gmx.de", "t-online.de"],
    ),
    "fr": (
        "FR",
        ["François", "Hélène", "Jérôme", "Amélie", "Gaël", "Léa", "Benoît", "Noémie"],
        ["Dubois", "Lefèvre", "Moreau", "Girard", "Faure", "Rousseau", "Lemaître"],
        ["orange.fr", "free.fr", "gmail.com"],
    ),
    "es": (
        "ES",
        ["José", "María", "Iñaki", "Lucía", "Álvaro", "Begoña"],
        ["García", "Fernández", "Martínez", "Núñez", "Peña", "Ibáñez"],
        ["gmail.com", "hotmail.es", "correo.es"],
    ),
    "pl": (
        "PL",
        ["Łukasz", "Agnieszka", "Paweł", "Małgorzata", "Wojciech", "Zofia"],
        ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Zieliński", "Dąbrowska"],
        ["wp.pl", "onet.pl", "gmail.com"],
    ),
    "in": (
        "IN",
        ["Priya", "Arjun", "Ananya", "Rahul", "Kavya", "Vikram", "Sneha"],
        ["Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Banerjee"],
        ["gmail.com", "rediffmail.com", "yahoo.co.in"],
    ),
    "br": (
        "BR",
        ["João", "Ana", "Luís", "Conceição", "Thiago", "Letícia"],
        ["Silva", "Santos", "Conceição", "Gonçalves", "Araújo", "Magalhães"],
        ["gmail.com", "uol.com.br", "bol.com.br"],
    ),
    "au": (
        "AU",
        ["Jack", "Charlotte", "Lachlan", "Matilda", "Cooper", "Ruby"],
        ["Kelly", "Ryan", "Campbell", "Mitchell", "Murphy", "Stewart"],
        ["bigpond.com", "gmail.com", "optusnet.com.au"],
    ),
    "jp": (
        "JP",
        ["太郎", "花子", "健", "さくら", "Hiroshi", "Yuki"],
        ["山田", "佐藤", "鈴木", "高橋", "Tanaka", "Watanabe"],
        ["docomo.ne.jp", "yahoo.co.jp", "gmail.com"],
    ),
    "mx": (
        "MX",
        ["Alejandro", "Guadalupe", "Sofía", "Andrés", "Ximena", "Ramón"],
        ["Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez"],
        ["gmail.com", "prodigy.net.mx", "hotmail.com"],
    ),
}
LOCALE_WEIGHTS = {
    "us": 40,
    "ca": 7,
    "gb": 8,
    "de": 8,
    "fr": 6,
    "es": 4,
    "pl": 4,
    "in": 6,
    "br": 5,
    "au": 5,
    "jp": 4,
    "mx": 3,
}

# (name, domain, locale of its switchboard)
COMPANIES = [
    ("Northwind Traders", "northwindtraders.com", "us"),
    ("Blue Harbor Logistics", "blueharborlogistics.com", "us"),
    ("Cedar & Pine Architects", "cedarpine.com", "us"),
    ("Brightwave Analytics, Inc.", "brightwave-analytics.com", "us"),
    ("Summit Ridge Health", "summitridgehealth.org", "us"),
    ("Redwood Legal LLP", "redwoodlegal.com", "us"),
    ("Lakeshore Credit Union", "lakeshorecu.org", "us"),
    ("Halcyon Robotics", "halcyonrobotics.io", "us"),
    ("Maple Leaf Outfitters", "mapleleafoutfitters.ca", "ca"),
    ("Boréal Conseil", "borealconseil.ca", "ca"),
    ("Thames Valley Engineering Ltd", "tvengineering.co.uk", "gb"),
    ("Kingsgate Insurance Brokers", "kingsgate.co.uk", "gb"),
    ("Bücher & Co. KG", "bücher.de", "de"),
    ("Rheinmetall Präzision GmbH", "rheinpraezision.de", "de"),
    ("Schwarzwald Solar AG", "schwarzwald-solar.de", "de"),
    ("Atelier Lumière SARL", "atelier-lumiere.fr", "fr"),
    ("Vignobles Château Belair", "chateau-belair.fr", "fr"),
    ("Café Montaña S.L.", "cafemontaña.es", "es"),
    ("Wisła Software sp. z o.o.", "wislasoftware.pl", "pl"),
    ("Kaveri Textiles Pvt Ltd", "kaveritextiles.in", "in"),
    ("Indus Cloud Services", "induscloud.in", "in"),
    ("Ipê Agronegócios Ltda", "ipeagro.com.br", "br"),
    ("Coral Coast Tourism Pty Ltd", "coralcoast.com.au", "au"),
    ("Sakura Precision Co., Ltd.", "sakura-precision.co.jp", "jp"),
    ("Grupo Azteca Alimentos", "grupoazteca.mx", "mx"),
    ("Globex Corporation", "globex-corp.com", "us"),
    ("Initech", "initech.com", "us"),
    ("Vandelay Industries", "vandelayindustries.com", "us"),
]

JOB_TITLES = [
    "Account Executive",
    "Head of Procurement",
    "CFO",
    "Office Manager",
    "Senior Software Engineer",
    "VP, Sales",
    "Marketing Coordinator",
    "Operations Director",
    "Purchasing Agent",
    "Customer Success Manager",
    "",
]

# Titles in the contact's own language, as exports from local subsidiaries contain them.
LOCAL_TITLES = {
    "de": ["Geschäftsführer", "Leiterin Einkauf", "Vertriebsleiter"],
    "fr": ["Directrice commerciale", "Responsable des achats"],
    "ca": ["Directrice commerciale", "Chargé de projet"],
    "es": ["Gerente de Compras", "Director Comercial"],
    "mx": ["Gerente de Compras", "Directora de Operaciones"],
    "br": ["Gerente de Compras", "Diretor Comercial"],
    "pl": ["Kierownik Zakupów", "Dyrektor Handlowy"],
    "jp": ["営業部長", "購買課長"],
}

TAG_SETS = [
    "",
    "",
    "",
    "vip; enterprise",
    "lead",
    "customer",
    "customer; newsletter",
    "partner",
    "prospect; trade-show-2024",
    "VIP",
    "enterprise;renewal-q3",
]

NOTES = [
    "",
    "",
    "",
    "",
    "Met at the Berlin trade fair",
    "Prefers email, not calls",
    'Asked for the "Pro" price list, follow up in June',
    "Assistant: Karen, ext. 214",
    "Call before 10am their time",
    "Referred by Globex",
    "Decision maker.\nBudget approved for Q3.",
]

# People the demo should always show, whatever the seed: non-ASCII names and internationalized addresses.
SHOWCASE = [
    {
        "first_name": "Jürgen",
        "last_name": "Müller",
        "company": "Bücher & Co. KG",
        "job_title": "Geschäftsführer",
        "email": "müller@bücher.de",
        "tags": "vip; enterprise",
    },
    {
        "first_name": "太郎",
        "last_name": "山田",
        "display_name": "山田 太郎",
        "company": "Sakura Precision Co., Ltd.",
        "job_title": "営業部長",
        "email": "Yamada@Sakura-Precision.co.jp",
    },
    {
        "first_name": "José",
        "last_name": "Hernández",
        "company": "Grupo Azteca Alimentos",
        "job_title": "Gerente de Compras",
        "email": " Jose.Hernandez@GrupoAzteca.mx",
        "tags": "customer",
    },
    {
        "first_name": "Zoë",
        "last_name": "Carter",
        "company": "Halcyon Robotics",
        "job_title": "CFO",
        "email": "ZOE.CARTER@halcyonrobotics.io ",
        "personal_email": "zoë.carter@gmail.com",
    },
    {
        "first_name": "Łukasz",
        "last_name": "Wiśniewski",
        "company": "Wisła Software sp. z o.o.",
        "job_title": "Dyrektor Handlowy",
        "email": "lukasz.wisniewski@wislasoftware.pl",
        "tags": "partner; enterprise",
    },
]

BAD_EMAILS = ["john@", "no at sign", "mary@@acme.com", "bob@example", "@globex-corp.com", "jane@acme..com"]
BAD_PHONES = ["123", "555-0000-000000", "0000", "+1 (000) 000-0000", "n/a", "+44 12"]


@dataclass
class Person:
    external_id: str
    first_name: str
    last_name: str
    locale: str
    company: tuple[str, str, str] | None
    job_title: str
    values: dict[str, str] = field(default_factory=dict)


def ascii_fold(text: str) -> str:
    """Mail local parts are usually ASCII even when the name is not; fold the way most systems do."""
    folded = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss"))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


def random_valid_number(rng: random.Random, region: str, kind: int) -> phonenumbers.PhoneNumber:
    """A number that passes `is_valid_number` for the region and type, but is not the documented example.

    Example numbers are few and well known; varying their trailing digits gives numbers that look real and
    still satisfy the metadata, which is what an import has to be exercised with.
    """
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    nsn = phonenumbers.national_significant_number(example)
    for _ in range(200):
        if region in NANP_AREA_CODES:
            exchange = str(rng.randint(200, 999))
            if exchange == "555" or exchange[1:] == "11":
                continue
            digits = rng.choice(NANP_AREA_CODES[region]) + exchange + f"{rng.randint(0, 9999):04d}"
        else:
            keep = 2 if len(nsn) > 8 else 1
            digits = nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
        number = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(digits))
        if not phonenumbers.is_valid_number(number):
            continue
        found = phonenumbers.number_type(number)
        wanted = {kind, PhoneNumberType.FIXED_LINE_OR_MOBILE}
        if found in wanted:
            return number
    raise RuntimeError(f"no valid {region} number of type {kind} found")


def messy_format(rng: random.Random, number: phonenumbers.PhoneNumber, allow_extension: bool = False) -> str:
    """Render a number the way CRM exports really contain them.

    North American numbers appear in national formats because the import's default region is US; every
    other country is written internationally (a `+`, a `00` or a `(0)` trunk digit), since a national
    format would be read as a US number.
    """
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    nsn = phonenumbers.national_significant_number(number)
    if number.country_code == 1:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        area, exchange, line = nsn[:3], nsn[3:6], nsn[6:]
        choices = [
            national,
            national,
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            nsn,
            intl,
            e164,
            f"1 ({area}) {exchange}-{line}",
            f"'{e164}",
        ]
    else:
        cc = str(number.country_code)
        rest = intl.split(" ", 1)[1]
        choices = [
            intl,
            intl,
            intl,
            e164,
            f"+{cc}.{rest.replace(' ', '.').replace('-', '.')}",
            f"+{cc}-{rest.replace(' ', '-')}",
            f"'{e164}",
        ]
        if cc in {"44", "49", "61"}:
            choices.append(f"+{cc} (0){rest}")
        # European-style `00` dialling is rarer in exports and ambiguous under a US default region.
        if rng.random() < 0.03:
            choices = [f"00{cc} {rest}"]
    text = rng.choice(choices)
    if allow_extension and rng.random() < 0.3:
        text += rng.choice([f" x{rng.randint(100, 999)}", f" ext. {rng.randint(10, 99)}", f" x{rng.randint(1, 9)}"])
    return text


def messy_email(rng: random.Random, address: str) -> str:
    """Addresses come in with the capitalisation and padding their owners typed."""
    roll = rng.random()
    if roll < 0.15:
        address = address.upper() if rng.random() < 0.3 else address.title()
    elif roll < 0.25:
        local, _, domain = address.partition("@")
        address = f"{local}@{domain.capitalize()}"
    roll = rng.random()
    if roll < 0.08:
        address = f" {address}"
    elif roll < 0.16:
        address = f"{address}  "
    return address


def switchboards(rng: random.Random) -> dict[str, phonenumbers.PhoneNumber]:
    """Each company has one main line that many of its people list as their work phone."""
    return {
        name: random_valid_number(rng, LOCALES[locale][0], PhoneNumberType.FIXED_LINE) for name, _, locale in COMPANIES
    }


def job_title(rng: random.Random, locale: str, company: tuple[str, str, str] | None) -> str:
    if company is None:
        return ""
    if company[2] == locale and locale in LOCAL_TITLES and rng.random() < 0.4:
        return rng.choice(LOCAL_TITLES[locale])
    return rng.choice(JOB_TITLES)


def make_person(rng: random.Random, index: int, boards: dict[str, phonenumbers.PhoneNumber]) -> Person:
    locale = rng.choices(list(LOCALE_WEIGHTS), weights=list(LOCALE_WEIGHTS.values()))[0]
    region, given, family, mail_domains = LOCALES[locale]
    first, last = rng.choice(given), rng.choice(family)
    local_companies = [c for c in COMPANIES if c[2] == locale]
    company = None
    if rng.random() < 0.85:
        pool = local_companies if local_companies and rng.random() < 0.75 else COMPANIES
        company = rng.choice(pool)
    person = Person(
        external_id=f"C-{100000 + index * 7:07d}",
        first_name=first,
        last_name=last,
        locale=locale,
        company=company,
        job_title=job_title(rng, locale, company),
    )
    v = person.values
    if locale == "jp" and not first.isascii():
        v["display_name"] = f"{last} {first}"
    elif rng.random() < 0.2:
        v["display_name"] = f"{last}, {first}"
    elif rng.random() < 0.4:
        v["display_name"] = f"{first} {last}"

    local = f"{ascii_fold(first)}.{ascii_fold(last)}".strip(".")
    if locale == "jp" and not local.replace(".", ""):
        local = f"user{rng.randint(100, 999)}"
    if company:
        domain = company[1]
        if locale == "de" and domain == "bücher.de" and rng.random() < 0.5:
            local = last.lower()
        v["email"] = messy_email(rng, f"{local}@{domain}")
        if rng.random() < 0.12:
            v["work_email"] = messy_email(rng, f"{rng.choice(['sales', 'info', 'accounts', 'office'])}@{domain}")
    if rng.random() < (0.3 if company else 0.9):
        key = "personal_email" if company else rng.choice(["email", "personal_email"])
        v[key] = messy_email(rng, f"{local}{rng.choice(['', '', str(rng.randint(1, 99))])}@{rng.choice(mail_domains)}")
    if rng.random() < 0.03:
        v["other_email"] = messy_email(rng, f"{local}@alumni.example-university.edu")

    if rng.random() < 0.75:
        v["mobile_phone"] = messy_format(rng, random_valid_number(rng, region, PhoneNumberType.MOBILE))
    if company and rng.random() < 0.6:
        own_line = rng.random() < 0.35
        board = boards[company[0]]
        if own_line:
            board = random_valid_number(rng, LOCALES[company[2]][0], PhoneNumberType.FIXED_LINE)
        v["work_phone"] = messy_format(rng, board, allow_extension=not own_line)
    if rng.random() < 0.12:
        v["home_phone"] = messy_format(rng, random_valid_number(rng, region, PhoneNumberType.FIXED_LINE))
    if company and rng.random() < 0.06:
        v["fax"] = messy_format(rng, random_valid_number(rng, LOCALES[company[2]][0], PhoneNumberType.FIXED_LINE))
    if rng.random() < 0.03:
        v["other_phone"] = messy_format(rng, random_valid_number(rng, region, PhoneNumberType.MOBILE))
    v["tags"] = rng.choice(TAG_SETS)
    v["notes"] = rng.choice(NOTES)
    return person


def person_row(person: Person) -> dict[str, str]:
    row = dict.fromkeys(HEADER, "")
    row.update(
        external_id=person.external_id,
        first_name=person.first_name,
        last_name=person.last_name,
        company=person.company[0] if person.company else "",
        job_title=person.job_title,
    )
    row.update(person.values)
    return row


def reformatted_duplicate(rng: random.Random, row: dict[str, str]) -> dict[str, str]:
    """The same person entered a second time by someone else: other id (or none), other spelling of values."""
    dup = dict(row)
    dup["external_id"] = "" if rng.random() < 0.5 else f"C-{rng.randint(900000, 999999):07d}"
    for key in ("email", "personal_email", "work_email"):
        if dup[key]:
            dup[key] = f"  {dup[key].strip().upper()} " if rng.random() < 0.5 else dup[key].strip().lower()
    for key in ("mobile_phone", "work_phone", "home_phone"):
        value = dup[key]
        if value:
            try:
                number = phonenumbers.parse(value.lstrip("'"), "US")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            number.extension = None
            dup[key] = messy_format(rng, number)
    if rng.random() < 0.5:
        dup["first_name"] = dup["first_name"].upper()
        dup["last_name"] = dup["last_name"].upper()
    dup["display_name"] = ""
    return dup


def spoil(rng: random.Random, row: dict[str, str]) -> None:
    """Put one unusable value into an otherwise good row, as typos and placeholders do."""
    if rng.random() < 0.5:
        key = rng.choice(["email", "personal_email"])
        row[key] = rng.choice(BAD_EMAILS)
    else:
        key = rng.choice(["mobile_phone", "home_phone"])
        row[key] = rng.choice(BAD_PHONES)


def unusable_rows(rng: random.Random) -> list[dict[str, str]]:
    """Rows with no name, phone or e-mail: the import has to reject them as a whole."""
    shapes = [
        {"company": "Initech"},
        {"notes": "Left voicemail, no name given"},
        {"company": "Halcyon Robotics", "job_title": "Receptionist"},
        {"notes": "see attached business card", "tags": "lead"},
        {"company": "Grupo Azteca Alimentos", "tags": "prospect"},
        {"external_id": "C-0999001", "notes": "duplicate of row above? check"},
    ]
    rows = []
    for shape in shapes:
        row = dict.fromkeys(HEADER, "")
        row.update(shape)
        rows.append(row)
    rng.shuffle(rows)
    return rows


def showcase_rows(rng: random.Random, boards: dict[str, phonenumbers.PhoneNumber]) -> list[dict[str, str]]:
    companies = {name: locale for name, _, locale in COMPANIES}
    rows = []
    for index, values in enumerate(SHOWCASE):
        row = dict.fromkeys(HEADER, "")
        row.update(values)
        row["external_id"] = f"C-{200000 + index:07d}"
        region = LOCALES[companies[values["company"]]][0]
        row["mobile_phone"] = messy_format(rng, random_valid_number(rng, region, PhoneNumberType.MOBILE))
        row["work_phone"] = messy_format(rng, boards[values["company"]], allow_extension=True)
        rows.append(row)
    return rows


def build_rows(seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    boards = switchboards(rng)
    rows = [person_row(make_person(rng, i, boards)) for i in range(BASE_PEOPLE)]
    for position, row in zip((2, 9, 23, 41, 77), showcase_rows(rng, boards), strict=True):
        rows.insert(position, row)

    for row in rng.sample(rows, 18):
        spoil(rng, row)
    for row in rng.sample(rows, 28):
        row["external_id"] = ""

    extra: list[tuple[int, dict[str, str]]] = []
    for row in rng.sample(rows, 12):
        extra.append((rows.index(row) + rng.randint(1, 40), dict(row)))
    for row in rng.sample(rows, 16):
        extra.append((rows.index(row) + rng.randint(5, 200), reformatted_duplicate(rng, row)))
    for row in unusable_rows(rng):
        extra.append((rng.randint(0, len(rows)), row))
    # Insert from the back so earlier positions stay meaningful.
    for position, row in sorted(extra, key=lambda item: item[0], reverse=True):
        rows.insert(min(position, len(rows)), row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("contacts.csv"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    rows = build_rows(args.seed)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
