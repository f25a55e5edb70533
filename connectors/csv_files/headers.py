"""What each column of a contact export means.

Every tool names its columns differently (`E-mail 2 Address`, `MobilePhone`, `Mobile Phone Number`,
`mobile_phone`, `Phone 1 - Value` typed by `Phone 1 - Type`), so headers are first reduced to a normal form and
then looked up in one table of aliases. The table is written in the tools' own spelling and normalized when this
module loads, which keeps it readable and guarantees that aliases and headers go through the same function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from contacts_store.records import EmailType, PhoneType

SCALAR_FIELDS = ("external_id", "first_name", "last_name", "display_name", "company", "job_title", "notes")
"""In the order `SourceContact` declares them; the row loop builds records positionally."""


class Split(StrEnum):
    """How a single cell may hold several values."""

    NONE = ""
    GOOGLE = " ::: "
    """Google Contacts joins several values of one type with ` ::: `."""
    LIST = ";,"
    """Free-text lists: values separated by `;` or `,`."""


@dataclass(frozen=True, slots=True)
class Role:
    """What one column feeds.

    `field` is a scalar field of `SourceContact`, `"phone"`, `"email"`, `"tags"`, or `"phone_type"` /
    `"email_type"` for Google's type cells. A phone or email role without `type` takes its type per row from the
    paired type cell of the same `group` (Google's `Phone 2 - Type` types `Phone 2 - Value`).
    """

    field: str
    type: PhoneType | EmailType | None = None
    primary: bool = False
    split: Split = Split.NONE
    group: int | None = None
    weak: bool = False
    """Only used when no other column feeds the field (Outlook's `Title` is a name prefix, Salesforce's a job)."""

    @property
    def label(self) -> str:
        """The name shown to users for what this column feeds, as a mapping file would write it."""
        if self.field in ("phone", "email") and self.type is not None:
            return f"{self.field}:{self.type}"
        return self.field


_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_E_MAIL = re.compile(r"\be mail\b")
_GOOGLE_TYPED = re.compile(r"^(email|phone) (\d+) (type|label|value)$")
_GOOGLE_ORGANIZATION = re.compile(r"^organization (\d+) (name|title)$")


def normalize_header(text: str) -> str:
    """`E-mail 2 Address` → `e mail 2 address`, `MobilePhone` → `mobile phone`, `first_name` → `first name`."""
    text = text.replace("\ufeff", "").strip().strip("\"'").strip()
    text = _CAMEL_LOWER_UPPER.sub(" ", text)
    text = _CAMEL_ACRONYM.sub(" ", text)
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def match_key(text: str) -> str:
    """The key aliases are looked up by: the normal form with `e mail` spelled `email`."""
    return _E_MAIL.sub("email", normalize_header(text))


def _phone(type_: PhoneType, primary: bool = False) -> Role:
    return Role("phone", type_, primary)


def _email(type_: EmailType, primary: bool = False, split: Split = Split.NONE) -> Role:
    return Role("email", type_, primary, split)


_ALIASES: list[tuple[Role, tuple[str, ...]]] = [
    (Role("external_id"), ("external_id", "id", "Record ID", "Contact ID", "contact_id")),
    (Role("first_name"), ("first_name", "FirstName", "Given Name", "Forename")),
    (Role("last_name"), ("last_name", "LastName", "Family Name", "Surname")),
    (Role("display_name"), ("display_name", "name", "Full Name", "FullName", "Contact Name")),
    (
        Role("company"),
        (
            "company",
            "Organization",
            "Organisation",
            "Organization Name",
            "Company Name",
            "Associated Company",
            "Account Name",
            "Account.Name",
            "Account",
            "Work Company",
            "Employer",
        ),
    ),
    (Role("job_title"), ("job_title", "JobTitle", "Organization Title", "Work Title")),
    (Role("job_title", weak=True), ("Title",)),
    (Role("notes"), ("notes", "Note", "Description", "Contact Description", "Comments", "Comment", "Info")),
    (Role("tags", split=Split.LIST), ("tags", "Tag", "Categories", "Category", "Groups", "Group")),
    (Role("tags", split=Split.GOOGLE), ("Labels", "Group Membership")),
    (
        _phone(PhoneType.WORK),
        (
            "phone",
            "work_phone",
            "Work Phone 2",
            "Business Phone",
            "Business Phone 2",
            "Office Phone",
            "Phone Number",
            "Telephone",
            "Company Main Phone",
        ),
    ),
    (
        _phone(PhoneType.MOBILE),
        (
            "mobile",
            "mobile_phone",
            "Mobile Number",
            "Mobile Phone Number",
            "cell",
            "Cell Phone",
            "Cellphone",
            "Home Mobile",
            "Work Mobile",
        ),
    ),
    (_phone(PhoneType.HOME), ("home_phone", "Home Phone 2", "Private Phone")),
    (
        _phone(PhoneType.FAX),
        ("fax", "Fax Number", "Business Fax", "Work Fax", "Home Fax", "Other Fax"),
    ),
    (
        _phone(PhoneType.OTHER),
        (
            "other_phone",
            "Car Phone",
            "Pager",
            "Pager Number",
            "Assistant's Phone",
            "AssistantPhone",
            "Phone Video",
            "Callback",
            "ISDN",
            "Radio Phone",
            "TTY/TDD Phone",
            "Telex",
        ),
    ),
    (_phone(PhoneType.OTHER, primary=True), ("Primary Phone",)),
    (_email(EmailType.WORK, primary=True), ("email",)),
    (_email(EmailType.WORK), ("work_email", "Email Work", "Business Email")),
    (_email(EmailType.PERSONAL), ("personal_email", "Home Email", "Email Home", "Private Email")),
    (_email(EmailType.PERSONAL, primary=True), ("Primary Email",)),
    (
        _email(EmailType.OTHER),
        (
            "other_email",
            "Email Other",
            "E-mail Address",
            "E-mail 2 Address",
            "E-mail 3 Address",
            "Secondary Email",
            "Email 2",
            "Email 3",
        ),
    ),
    (_email(EmailType.OTHER, split=Split.LIST), ("Additional email addresses",)),
    # Outlook writes its export headers in the user's language; the common German, French, Spanish and Dutch ones.
    (Role("first_name"), ("Vorname", "Prénom", "Nombre", "Voornaam")),
    (Role("last_name"), ("Nachname", "Nom", "Apellidos", "Achternaam")),
    (Role("display_name"), ("Anzeigename", "Nom complet")),
    (Role("company"), ("Firma", "Société", "Organización", "Bedrijf")),
    (Role("job_title"), ("Position", "Fonction", "Puesto", "Functie")),
    (Role("notes"), ("Notizen", "Notas", "Notities")),
    (Role("tags", split=Split.LIST), ("Kategorien", "Catégories", "Categorías", "Categorieën")),
    (
        _phone(PhoneType.WORK),
        (
            "Telefon geschäftlich",
            "Telefon geschäftlich 2",
            "Téléphone bureau",
            "Téléphone bureau 2",
            "Teléfono del trabajo",
            "Telefoon op werk",
        ),
    ),
    (_phone(PhoneType.MOBILE), ("Mobiltelefon", "Téléphone mobile", "Teléfono móvil", "Mobiele telefoon")),
    (
        _phone(PhoneType.HOME),
        ("Telefon privat", "Telefon privat 2", "Téléphone domicile", "Teléfono particular", "Telefoon thuis"),
    ),
    (_phone(PhoneType.FAX), ("Fax geschäftlich", "Fax privat", "Télécopie bureau", "Fax del trabajo", "Fax op werk")),
    (_phone(PhoneType.OTHER), ("Weiteres Telefon", "Autre téléphone", "Otro teléfono", "Andere telefoon")),
    (_phone(PhoneType.OTHER, primary=True), ("Haupttelefon", "Téléphone principal", "Teléfono principal")),
    (
        _email(EmailType.OTHER),
        (
            "E-Mail-Adresse",
            "E-Mail 2: Adresse",
            "E-Mail 3: Adresse",
            "Adresse de messagerie",
            "Adresse de messagerie 2",
            "Dirección de correo electrónico",
            "E-mailadres",
        ),
    ),
]


def _build_alias_table() -> dict[str, Role]:
    table: dict[str, Role] = {}
    for role, aliases in _ALIASES:
        for alias in aliases:
            key = match_key(alias)
            if key in table and table[key] != role:
                raise AssertionError(f"header alias {alias!r} is listed for two fields")
            table[key] = role
    return table


ALIASES: dict[str, Role] = _build_alias_table()
"""Normalized header → role. Exposed for documentation and tests; treat it as read-only."""


def classify(header: str) -> Role | None:
    """The role a column plays judging by its header alone, or None for columns we do not import."""
    key = match_key(header)
    role = ALIASES.get(key)
    if role is not None:
        return role
    typed = _GOOGLE_TYPED.match(key)
    if typed is not None:
        kind, group, part = typed.group(1), int(typed.group(2)), typed.group(3)
        if part == "value":
            return Role(kind, None, False, Split.GOOGLE, group)
        return Role(f"{kind}_type", None, False, Split.NONE, group)
    organization = _GOOGLE_ORGANIZATION.match(key)
    if organization is not None:
        return Role("company" if organization.group(2) == "name" else "job_title")
    return None


_GOOGLE_PHONE_TYPES = {
    "mobile": PhoneType.MOBILE,
    "work mobile": PhoneType.MOBILE,
    "cell": PhoneType.MOBILE,
    "work": PhoneType.WORK,
    "home": PhoneType.HOME,
    "fax": PhoneType.FAX,
    "home fax": PhoneType.FAX,
    "work fax": PhoneType.FAX,
    "other fax": PhoneType.FAX,
}
_GOOGLE_EMAIL_TYPES = {"home": EmailType.PERSONAL, "work": EmailType.WORK}


def google_phone_type(cell: str | None) -> tuple[PhoneType, bool]:
    """Google's phone label → (type, primary). `* ` marks the primary value; custom labels become `other`."""
    text, primary = _google_label(cell)
    return _GOOGLE_PHONE_TYPES.get(text, PhoneType.OTHER), primary


def google_email_type(cell: str | None) -> tuple[EmailType, bool]:
    """Google's email label → (type, primary): Home is personal, Work is work, anything else other."""
    text, primary = _google_label(cell)
    return _GOOGLE_EMAIL_TYPES.get(text, EmailType.OTHER), primary


def _google_label(cell: str | None) -> tuple[str, bool]:
    if not cell:
        return "", False
    text = cell.strip()
    primary = text.startswith("*")
    if primary:
        text = text[1:]
    return " ".join(_NON_ALNUM.sub(" ", text.lower()).split()), primary


def split_tags(cell: str) -> list[str]:
    """Tags from one cell: `;`, `,` and Google's ` ::: ` all separate, Google's `* ` (starred group) is dropped."""
    if ":::" in cell:
        cell = cell.replace(":::", ",")
    if ";" in cell:
        cell = cell.replace(";", ",")
    tags = []
    for part in cell.split(","):
        tag = part.strip()
        if tag.startswith("* "):
            tag = tag[2:].lstrip()
        if tag:
            tags.append(tag)
    return tags


def raw_keys(columns: list[str]) -> list[str]:
    """Keys for `raw` dicts: the header itself, made unique so that no cell hides another.

    A blank header becomes `column N` and a repeated one `Name (2)`; the rejects report applies the same function
    to find each column's value again.
    """
    keys: list[str] = []
    seen: dict[str, int] = {}
    for index, column in enumerate(columns, start=1):
        key = column if column.strip() else f"column {index}"
        count = seen.get(key, 0) + 1
        seen[key] = count
        keys.append(key if count == 1 else f"{key} ({count})")
    return keys
