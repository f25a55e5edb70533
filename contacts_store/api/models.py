"""Request and response bodies, as the OpenAPI document describes them (and schemathesis checks them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from contacts_store.records import EmailType, PhoneType, Source

Name = Field(default=None, max_length=1000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL cannot be stored in PostgreSQL text; refusing it everywhere keeps both stores alike."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("text cannot contain NUL characters")
        return value


class PhoneNumberIn(_Strict):
    number: str = Field(min_length=1, max_length=64, examples=["+1 (415) 555-0123"])
    type: PhoneType = PhoneType.OTHER
    is_primary: StrictBool = False


class PhoneNumberUpdate(_Strict):
    number: str | None = Field(default=None, min_length=1, max_length=64)
    type: PhoneType | None = None
    is_primary: StrictBool | None = None


class EmailIn(_Strict):
    address: str = Field(min_length=1, max_length=320, examples=["jane@example.com"])
    type: EmailType = EmailType.WORK
    is_primary: StrictBool = False


class EmailUpdate(_Strict):
    address: str | None = Field(default=None, min_length=1, max_length=320)
    type: EmailType | None = None
    is_primary: StrictBool | None = None


class TagIn(_Strict):
    tag: str = Field(min_length=1, max_length=255, examples=["vip"])


class ContactCreate(_Strict):
    first_name: str | None = Name
    last_name: str | None = Name
    display_name: str | None = Name
    company: str | None = Name
    job_title: str | None = Name
    notes: str | None = Field(default=None, max_length=20000)
    source: Source = Source.MANUAL
    external_system: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=255)
    phone_numbers: list[PhoneNumberIn] = Field(default_factory=list, max_length=50)
    emails: list[EmailIn] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)


class ContactUpdate(_Strict):
    """Only the fields sent change; null or "" clears one. Phones, emails and tags have their own endpoints."""

    first_name: str | None = Name
    last_name: str | None = Name
    display_name: str | None = Name
    company: str | None = Name
    job_title: str | None = Name
    notes: str | None = Field(default=None, max_length=20000)
    external_id: str | None = Field(default=None, max_length=255)


class PhoneNumber(BaseModel):
    id: str
    customer_id: str
    contact_id: str
    number: str
    number_e164: str
    extension: str
    type: PhoneType
    is_primary: bool
    tm_create: str | None


class Email(BaseModel):
    id: str
    customer_id: str
    contact_id: str
    address: str
    type: EmailType
    is_primary: bool
    tm_create: str | None


class Contact(BaseModel):
    id: str
    customer_id: str
    first_name: str
    last_name: str
    display_name: str
    company: str
    job_title: str
    notes: str
    source: Source
    external_system: str
    external_id: str
    phone_numbers: list[PhoneNumber]
    emails: list[Email]
    tags: list[str]
    tm_create: str | None
    tm_update: str | None
    tm_delete: str | None


class ContactList(BaseModel):
    result: list[Contact]
    next_page_token: str = Field(description='Pass as page_token for the next page; "" after the last page.')


class ErrorDetail(BaseModel):
    status: str
    reason: str
    message: str
    request_id: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
