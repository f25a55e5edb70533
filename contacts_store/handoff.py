"""Normalization handed to worker processes.

Batches cross to the workers and back as plain tuples without the raw source values: pickling dataclasses, named
tuples and dicts would cost the writing process more than the normalization it hands off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contacts_store.normalize import normalize_contact
from contacts_store.records import (
    Email,
    NormalizedContact,
    Phone,
    RawEmail,
    RawPhone,
    Reject,
    SourceContact,
    ValueReject,
)


def normalize_batch(items: Sequence[tuple[SourceContact, str]], region: str) -> list[NormalizedContact | Reject]:
    """Normalize records whose raw fingerprint is already computed."""
    return [normalize_contact(contact, region, raw_hash) for contact, raw_hash in items]


Packed = tuple[Any, ...]


def pack_source(contact: SourceContact, raw_hash: str) -> Packed:
    return (
        contact.external_id,
        contact.first_name,
        contact.last_name,
        contact.display_name,
        contact.company,
        contact.job_title,
        contact.notes,
        [tuple(p) for p in contact.phones],
        [tuple(e) for e in contact.emails],
        contact.tags,
        contact.deleted,
        contact.row_number,
        raw_hash,
    )


def normalize_packed(items: Sequence[Packed], region: str) -> list[Packed | Reject]:
    """Worker-process entry point."""
    out: list[Packed | Reject] = []
    for item in items:
        contact = SourceContact(
            item[0],
            item[1],
            item[2],
            item[3],
            item[4],
            item[5],
            item[6],
            [RawPhone(*p) for p in item[7]],
            [RawEmail(*e) for e in item[8]],
            item[9],
            None,
            item[10],
            item[11],
        )
        result = normalize_contact(contact, region, item[12])
        if isinstance(result, Reject):
            out.append(result)
            continue
        out.append(
            (
                result.external_id,
                result.first_name,
                result.last_name,
                result.display_name,
                result.company,
                result.job_title,
                result.notes,
                [tuple(p) for p in result.phones],
                [tuple(e) for e in result.emails],
                result.tags,
                result.deleted,
                result.row_number,
                result.source_hash,
                result.content_hash,
                [tuple(v) for v in result.value_rejects],
            )
        )
    return out


def unpack_results(
    packed: list[Packed | Reject], raws: list[dict[str, str] | None]
) -> list[NormalizedContact | Reject]:
    out: list[NormalizedContact | Reject] = []
    for result, raw in zip(packed, raws, strict=True):
        if isinstance(result, Reject):
            result.raw = raw
            out.append(result)
            continue
        out.append(
            NormalizedContact(
                result[0],
                result[1],
                result[2],
                result[3],
                result[4],
                result[5],
                result[6],
                [Phone(*p) for p in result[7]],
                [Email(*e) for e in result[8]],
                result[9],
                result[10],
                result[11],
                result[12],
                result[13],
                [ValueReject(*v) for v in result[14]],
                raw,
            )
        )
    return out
