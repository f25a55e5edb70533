"""Choosing the text encoding of a CSV file before parsing it.

Contact exports come from Excel (cp1252 or UTF-8 with a BOM), Outlook (UTF-16), Google (UTF-8) and CRMs of every
vintage, and none of them say which encoding they used. The order of evidence is: a byte-order mark, the NUL
pattern of UTF-16/UTF-32 text without one, then a full UTF-8 validation pass, and finally Windows-1252, which can
decode any byte sequence once its five undefined bytes are given their Latin-1 meaning. Guessing from a prefix
alone is not enough: a file can be ASCII for megabytes and hold its first `é` on the last line.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import BinaryIO

from connectors.csv_files.errors import CsvImportError

SAMPLE_BYTES = 64 * 1024
"""How much of the file the BOM, NUL-pattern and binary checks look at."""

SCAN_CHUNK_BYTES = 1 << 20
"""Chunk size of the up-front UTF-8 validation pass; memory stays flat whatever the file size."""

CP1252_FALLBACK_ERRORS = "contact-sync-cp1252-latin1"
"""Codec error handler that decodes the bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as Latin-1,
so that a cp1252 file never fails to decode and no byte is silently dropped."""


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError):
        return error.object[error.start : error.end].decode("latin-1"), error.end
    raise error


codecs.register_error(CP1252_FALLBACK_ERRORS, _latin1_fallback)

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF32_LE_BOM = b"\xff\xfe\x00\x00"
_UTF32_BE_BOM = b"\x00\x00\xfe\xff"
_UTF16_LE_BOM = b"\xff\xfe"
_UTF16_BE_BOM = b"\xfe\xff"

_EXCEL_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_OTHER_SIGNATURES = ((b"\x1f\x8b", "a gzip-compressed file; unpack it first"), (b"%PDF-", "a PDF document"))

# Control bytes that never appear in text. Left out on purpose: tab, newlines, vertical tab and form feed (some
# spreadsheet tools write VT for a line break inside a cell), SUB (old DOS end-of-file) and ESC.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20)])


@dataclass(frozen=True, slots=True)
class DetectedEncoding:
    """How to turn the file's bytes into text.

    `skip_bytes` is the length of a byte-order mark that the codec itself would not remove; `may_contain_nul`
    tells the row loop whether it has to look for NUL characters at all, which keeps that check off the hot path
    for the overwhelming majority of files.
    """

    name: str
    skip_bytes: int = 0
    errors: str = "strict"
    may_contain_nul: bool = False


def detect_encoding(file: BinaryIO, display_name: str, forced: str | None = None) -> DetectedEncoding:
    """Decide the encoding of `file` (positioned anywhere; it is left at an unspecified position).

    Raises `CsvImportError` for files that are plainly not CSV text: spreadsheets, archives, binary data.
    """
    file.seek(0)
    head = file.read(SAMPLE_BYTES)
    _reject_known_binary_formats(head, display_name)
    if forced is not None:
        detected = _forced(head, forced)
        if detected.errors == "strict":
            _validate(file, detected, display_name)
        return detected

    if head.startswith(_UTF32_LE_BOM):
        return DetectedEncoding("utf-32-le", 4, "replace", True)
    if head.startswith(_UTF32_BE_BOM):
        return DetectedEncoding("utf-32-be", 4, "replace", True)
    if head.startswith((_UTF16_LE_BOM, _UTF16_BE_BOM)):
        # Some writers put a two-byte UTF-16 mark in front of UTF-32 text (Salesforce Data Loader's own test
        # files do); the NUL layout after the mark tells the two apart.
        utf32 = _utf32_by_nul_pattern(head[2:])
        if utf32 is not None:
            return DetectedEncoding(utf32, 2, "replace", True)
        name = "utf-16-le" if head.startswith(_UTF16_LE_BOM) else "utf-16-be"
        return DetectedEncoding(name, 2, "replace", True)

    by_pattern = _utf32_by_nul_pattern(head) or _utf16_by_nul_pattern(head)
    if by_pattern is not None:
        return DetectedEncoding(by_pattern, 0, "replace", True)

    if _looks_binary(head):
        raise CsvImportError(f"{display_name} looks like a binary file, not CSV text")

    has_bom = head.startswith(_UTF8_BOM)
    valid_utf8, has_nul = _scan_utf8(file, skip=3 if has_bom else 0)
    if valid_utf8:
        return DetectedEncoding("utf-8-sig" if has_bom else "utf-8", 0, "strict", has_nul)
    return DetectedEncoding("cp1252", 3 if has_bom else 0, CP1252_FALLBACK_ERRORS, has_nul)


def _forced(head: bytes, name: str) -> DetectedEncoding:
    """An encoding named in a mapping file; a BOM for that same encoding is still skipped."""
    codec = codecs.lookup(name).name
    if codec == "utf-8" and head.startswith(_UTF8_BOM):
        return DetectedEncoding("utf-8-sig", 0, "strict", True)
    if codec == "cp1252":
        return DetectedEncoding("cp1252", 0, CP1252_FALLBACK_ERRORS, True)
    boms = {
        "utf-16-le": _UTF16_LE_BOM,
        "utf-16-be": _UTF16_BE_BOM,
        "utf-32-le": _UTF32_LE_BOM,
        "utf-32-be": _UTF32_BE_BOM,
    }
    bom = boms.get(codec)
    skip = len(bom) if bom is not None and head.startswith(bom) else 0
    return DetectedEncoding(codec, skip, "strict", True)


def _validate(file: BinaryIO, detected: DetectedEncoding, display_name: str) -> None:
    """Check a forced encoding against the whole file now, rather than fail halfway through an import."""
    file.seek(detected.skip_bytes)
    decoder = codecs.getincrementaldecoder(detected.name)()
    consumed = detected.skip_bytes
    lines = 1
    while True:
        chunk = file.read(SCAN_CHUNK_BYTES)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            offset = consumed - pending + error.start
            lines += chunk[: max(error.start - pending, 0)].count(b"\n")
            raise CsvImportError(
                f"{display_name} is not valid {detected.name} text (line {lines}, byte {offset}); "
                "fix the encoding in the mapping file or leave it out to detect it"
            ) from None
        if not chunk:
            return
        consumed += len(chunk)
        lines += chunk.count(b"\n")


def _reject_known_binary_formats(head: bytes, display_name: str) -> None:
    if head.startswith(_EXCEL_SIGNATURES):
        raise CsvImportError(f"{display_name}: this looks like an Excel workbook; save it as CSV and import that")
    for signature, what in _OTHER_SIGNATURES:
        if head.startswith(signature):
            raise CsvImportError(f"{display_name} looks like {what}, not CSV text")


def _looks_binary(head: bytes) -> bool:
    """NULs or control bytes in bulk mean binary data; a stray NUL inside text only costs its row."""
    if not head:
        return False
    nul_count = head.count(0)
    if nul_count * 100 > len(head):
        return True
    control_count = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control_count * 20 > len(head)


def _utf32_by_nul_pattern(data: bytes) -> str | None:
    """UTF-32 code units never exceed 0x10FFFF, so one byte of every four is always zero and its neighbour small.

    Only text that is mostly ASCII would satisfy this for UTF-16 as well, and there the neighbour is a letter.
    """
    usable = len(data) - len(data) % 4
    if usable < 8:
        return None
    data = data[:usable]
    if not data[3::4].strip(b"\x00") and max(data[2::4]) <= 0x10 and any(data[0::4]):
        return "utf-32-le"
    if not data[0::4].strip(b"\x00") and max(data[1::4]) <= 0x10 and any(data[3::4]):
        return "utf-32-be"
    return None


def _utf16_by_nul_pattern(data: bytes) -> str | None:
    """UTF-16 text without a BOM: mostly-ASCII content leaves NULs in every other byte and almost nowhere else."""
    usable = len(data) - len(data) % 2
    if usable < 4:
        return None
    even, odd = data[0:usable:2], data[1:usable:2]
    half = usable // 2
    even_nuls, odd_nuls = even.count(0), odd.count(0)
    if odd_nuls * 10 >= half * 3 and even_nuls * 20 <= half:
        return "utf-16-le"
    if even_nuls * 10 >= half * 3 and odd_nuls * 20 <= half:
        return "utf-16-be"
    return None


def _scan_utf8(file: BinaryIO, skip: int) -> tuple[bool, bool]:
    """Validate the whole file as UTF-8 and note whether it holds a NUL byte anywhere.

    Returns (valid_utf8, has_nul). After the first invalid sequence only the (much cheaper) NUL search goes on.
    """
    file.seek(skip)
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    has_nul = False
    while chunk := file.read(SCAN_CHUNK_BYTES):
        if not has_nul and b"\x00" in chunk:
            has_nul = True
        if decoder is not None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                decoder = None
        elif has_nul:
            break
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    return decoder is not None, has_nul
