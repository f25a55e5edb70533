"""Streaming a contact CSV file into batches of `SourceContact`.

The file is read once up front to settle its encoding (cheap, and the only way to be sure of UTF-8), then parsed
as a stream: memory stays flat however many millions of rows it has. Everything that depends only on the header
is decided in `open_csv`, so the per-row loop is indexing into the row and nothing else; it runs once per record
of every import and dominates the time of a large one.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import os
import re
from collections.abc import Callable, Generator, Iterator
from itertools import compress, islice
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from connectors.csv_files.columns import ColumnPlan, ValueColumn, plan_columns
from connectors.csv_files.dialect import sniff_delimiter
from connectors.csv_files.encoding import SAMPLE_BYTES, DetectedEncoding, detect_encoding
from connectors.csv_files.errors import CsvImportError
from connectors.csv_files.headers import (
    SCALAR_FIELDS,
    Split,
    google_email_type,
    google_phone_type,
    raw_keys,
    split_tags,
)
from connectors.csv_files.mapping_file import ColumnMapping
from contacts_store.records import EmailType, PhoneType, RawEmail, RawPhone, Reject, SourceContact

DEFAULT_BATCH_SIZE = 5000
MALFORMED_ROW = "malformed_row"
_TEXT_CHUNK = 1 << 16
_LABEL_CACHE_LIMIT = 4096


class CsvSource:
    """An open contact CSV file: what was detected about it, and its records in batches.

    Use it as a context manager (or call `close`). `batches` may be called more than once; each call reads the
    file from the start.
    """

    path: Path
    encoding: str
    delimiter: str
    columns: list[str]
    mapped: dict[str, str]
    ignored_columns: list[str]
    has_id_column: bool
    total_bytes: int
    header_line: int
    unused_mapping_columns: list[str]

    def __init__(
        self,
        path: Path,
        file: io.BufferedReader,
        detected: DetectedEncoding,
        delimiter: str,
        columns: list[str],
        header_line: int,
        plan: ColumnPlan,
    ) -> None:
        self.path = path
        self._file = file
        self._detected = detected
        self.encoding = detected.name
        self.delimiter = delimiter
        self.columns = columns
        self.header_line = header_line
        self._plan = plan
        self.mapped = {column: role.label for column, role in zip(columns, plan.roles, strict=True) if role}
        self.ignored_columns = [
            column for column, role in zip(columns, plan.roles, strict=True) if role is None and column.strip()
        ]
        self.has_id_column = "external_id" in plan.scalars
        self.unused_mapping_columns = plan.unused_mapping_columns
        self.total_bytes = os.fstat(file.fileno()).st_size
        self._last_position = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def bytes_read(self) -> int:
        """How far the current pass has read, in bytes of the file (ahead of parsing by one read buffer)."""
        if not self._file.closed:
            self._last_position = self._file.raw.tell()
        return self._last_position

    def batches(self, size: int = DEFAULT_BATCH_SIZE) -> Generator[list[SourceContact | Reject], None, None]:
        """The records after the header, `size` at a time, in file order.

        A row that cannot be a record (more cells than the header, NUL bytes) comes as a `Reject` in its place.
        One pass at a time: two unfinished passes would share the file position. `close()` ends a pass early.
        """
        if size < 1:
            raise ValueError("batch size must be at least 1")
        name = str(self.path)
        with _TextStream(self._file, self._detected) as text:
            reader = csv.reader(text, delimiter=self.delimiter, quotechar='"', doublequote=True, strict=False)
            for line, _ in _numbered_rows(reader, name):
                if line >= self.header_line:
                    break
            rows = _RowSource(reader, name)
            yield from _build_batches(
                rows, self._plan, self.columns, self.delimiter, self._detected, size, self._quote_left_open
            )

    def _quote_left_open(self, start_line: int) -> bool:
        """Whether the record starting at `start_line` runs to the end of the file inside an unclosed quote.

        The lenient parser would silently make everything after such a quote one value of the last record; this
        re-reads that record strictly. It runs only when the last record holds a line break, which is rare.
        """
        with self.path.open("rb") as file, _TextStream(file, self._detected) as text:
            tail = islice(text, start_line - 1, None)
            try:
                for _ in csv.reader(tail, delimiter=self.delimiter, quotechar='"', doublequote=True, strict=True):
                    pass
            except csv.Error as error:
                return "unexpected end of data" in str(error)
        return False


def open_csv(path: Path, mapping: ColumnMapping | None = None) -> CsvSource:
    """Open a contact export, detect its encoding, delimiter and header, and plan the column mapping.

    Raises `CsvImportError` with a one-line message when the file cannot be imported at all.
    """
    path = Path(path)
    name = str(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - owned by the returned CsvSource
    except FileNotFoundError:
        raise CsvImportError(f"{name} not found") from None
    except IsADirectoryError:
        raise CsvImportError(f"{name} is a directory, not a CSV file") from None
    except PermissionError:
        raise CsvImportError(f"cannot read {name}: permission denied") from None
    except OSError as error:
        raise CsvImportError(f"cannot read {name}: {error.strerror or error}") from None
    try:
        return _open(path, name, file, mapping)
    except BaseException:
        file.close()
        raise


def _open(path: Path, name: str, file: io.BufferedReader, mapping: ColumnMapping | None) -> CsvSource:
    if os.path.isdir(path):
        raise CsvImportError(f"{name} is a directory, not a CSV file")
    if os.fstat(file.fileno()).st_size == 0:
        raise CsvImportError(f"{name} is empty")
    detected = detect_encoding(file, name, mapping.encoding if mapping else None)
    sample, complete = _read_sample(file, detected)
    lines = sample.splitlines()
    declared = _EXCEL_SEPARATOR.fullmatch(lines[0]) if lines else None
    skip = 1 if declared else 0  # Excel's "sep=;" line names the delimiter and precedes the header
    forced = mapping.delimiter if mapping and mapping.delimiter else None
    delimiter = forced or (declared.group(1) if declared else sniff_delimiter("\n".join(lines[skip:]), complete))

    header_line, columns, plan = _find_header(file, detected, delimiter, name, mapping, skip)
    if not plan.maps_anything and not forced and not declared:
        # Title lines above the header ("Contacts exported 2024-05-01") mislead the sniffer: retry from each of
        # the next few lines, sniffing again from there.
        for start in range(skip + 1, min(len(lines), skip + _HEADER_SEARCH_LINES + 1)):
            if not lines[start].strip():
                continue
            candidate = sniff_delimiter("\n".join(lines[start:]), complete)
            found = _find_header(file, detected, candidate, name, mapping, start)
            if found[2].maps_anything:
                delimiter = candidate
                header_line, columns, plan = found
                break
    if not plan.maps_anything:
        raise CsvImportError(_nothing_mapped_message(name, columns, header_line))
    file.seek(0)
    return CsvSource(path, file, detected, delimiter, columns, header_line, plan)


def _find_header(
    file: io.BufferedReader,
    detected: DetectedEncoding,
    delimiter: str,
    name: str,
    mapping: ColumnMapping | None,
    skip_lines: int,
) -> tuple[int, list[str], ColumnPlan]:
    """The header: the first non-blank line, unless it maps nothing and one of the next few lines does (exports
    that start with a title such as "Contacts exported 2024-05-01")."""
    first: tuple[int, list[str], ColumnPlan] | None = None
    for line, row in _header_candidates(file, detected, delimiter, name, skip_lines):
        columns = [cell.strip() for cell in row]
        columns[0] = columns[0].lstrip("\ufeff").strip()
        plan = plan_columns(columns, mapping)
        if plan.maps_anything:
            return line, columns, plan
        first = first or (line, columns, plan)
    if first is None:
        raise CsvImportError(f"{name} is empty (no header row)")
    return first


def _read_sample(file: io.BufferedReader, detected: DetectedEncoding) -> tuple[str, bool]:
    file.seek(detected.skip_bytes)
    data = file.read(SAMPLE_BYTES)
    complete = len(data) < SAMPLE_BYTES
    decoder = codecs.getincrementaldecoder(detected.name)(errors=detected.errors)
    try:
        return decoder.decode(data, final=complete), complete
    except UnicodeDecodeError as error:  # only if the file changed since its encoding was checked
        return data[: error.start].decode(detected.name, errors="ignore"), False


def _header_candidates(
    file: io.BufferedReader, detected: DetectedEncoding, delimiter: str, name: str, skip_lines: int
) -> Iterator[tuple[int, list[str]]]:
    """The first few non-blank records after `skip_lines` physical lines, with their line numbers."""
    seen = 0
    with _TextStream(file, detected) as text:
        reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        for line, row in _numbered_rows(reader, name):
            if line <= skip_lines or not any(cell.strip() for cell in row):
                continue
            yield line, row
            seen += 1
            if seen >= _HEADER_SEARCH_LINES:
                return


_EXCEL_SEPARATOR = re.compile(r"\ufeff?\s*sep=(.)\s*", re.IGNORECASE)
_HEADER_SEARCH_LINES = 5


def _nothing_mapped_message(name: str, columns: list[str], header_line: int) -> str:
    shown = [column for column in columns if column][:5]
    found = ", ".join(repr(column) for column in shown)
    if len(columns) > len(shown):
        found += f" and {len(columns) - len(shown)} more"
    if any(_looks_like_data(column) for column in columns):
        return (
            f"{name} has no header row: line {header_line} looks like data ({found}); "
            "add a first line naming the columns, e.g. first_name,last_name,email,phone"
        )
    return (
        f"{name}: none of the columns is a contact field we know (found {found}); "
        'name their targets in a mapping file, e.g. columns: {"Kontakt": "display_name"}'
    )


def _looks_like_data(cell: str) -> bool:
    if "@" in cell and "." in cell:
        return True
    return sum(ch.isdigit() for ch in cell) >= 7


class _TextStream:
    """A text view of the binary file for one pass; leaves the binary file open (and rewindable) afterwards."""

    def __init__(self, file: io.BufferedReader, detected: DetectedEncoding) -> None:
        self._file = file
        self._detected = detected
        self._text: io.TextIOWrapper | None = None

    def __enter__(self) -> io.TextIOWrapper:
        self._file.seek(self._detected.skip_bytes)
        self._text = io.TextIOWrapper(
            self._file, encoding=self._detected.name, errors=self._detected.errors, newline=""
        )
        self._text._CHUNK_SIZE = _TEXT_CHUNK  # type: ignore[attr-defined]
        return self._text

    def __exit__(self, *exc_info: object) -> None:
        if self._text is not None:
            # ValueError: the file was closed under us, so there is nothing left to release.
            with contextlib.suppress(ValueError):
                self._text.detach()


def _numbered_rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) per record, turning parse and decode failures into `CsvImportError`."""
    line = 0
    try:
        for row in reader:
            yield line + 1, row
            line = reader.line_num
    except csv.Error as error:
        raise CsvImportError(_parse_error_message(name, line + 1, error)) from None
    except UnicodeDecodeError as error:
        raise CsvImportError(
            f"{name}: cannot decode the text near line {line + 1} as {error.encoding}; "
            "check the encoding in the mapping file"
        ) from None


def _parse_error_message(name: str, line: int, error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"{name}: line {line}: a field is longer than {csv.field_size_limit()} characters; "
            "most likely a quote is opened and never closed"
        )
    return f"{name}: line {line}: {error}"


class _RowSource:
    """The csv reader of one pass, with parse and decode failures turned into `CsvImportError`.

    The hot loop iterates the csv reader itself (a generator in between costs a tenth of the time per row) and
    calls `failed` from its exception handler.
    """

    def __init__(self, reader: Any, name: str) -> None:
        self.reader = reader
        self.name = name

    def failed(self, error: csv.Error | UnicodeDecodeError, line: int) -> CsvImportError:
        if isinstance(error, csv.Error):
            return CsvImportError(_parse_error_message(self.name, line, error))
        return CsvImportError(
            f"{self.name}: cannot decode the text near line {line} as {error.encoding}; "
            "check the encoding in the mapping file"
        )


def _build_batches(
    rows: _RowSource,
    plan: ColumnPlan,
    columns: list[str],
    delimiter: str,
    detected: DetectedEncoding,
    size: int,
    quote_left_open: Callable[[int], bool],
) -> Iterator[list[SourceContact | Reject]]:
    """The hot loop. Everything it needs is bound to locals; per-column work is index lookups in a list.

    Cells are stripped and kept as `""` when empty (cheaper than mapping each to None); only the scalar fields are
    turned into None, once per record.
    """
    ncols = len(columns)
    keys = raw_keys(columns)
    sentinel = ncols  # every row gets an empty cell appended at this index, for fields that no column feeds
    first_index = [indexes[0] if (indexes := plan.scalars.get(f)) else sentinel for f in SCALAR_FIELDS]
    get_scalars = itemgetter(*first_index)
    fallbacks = tuple(
        (position, tuple(plan.scalars[f][1:]))
        for position, f in enumerate(SCALAR_FIELDS)
        if len(plan.scalars.get(f, ())) > 1
    )
    phones = _value_setters(plan.phones, sentinel)
    emails = _value_setters(plan.emails, sentinel)
    # Fixed-type columns without splitting (the common case) take a loop with no per-column branching.
    simple_phones = _simple_setters(plan.phones)
    simple_emails = _simple_setters(plan.emails)
    tag_indexes = tuple(plan.tags)
    id_index = first_index[0]
    check_nul = detected.may_contain_nul
    phone_labels: dict[str, tuple[PhoneType, bool]] = {}
    email_labels: dict[str, tuple[EmailType, bool]] = {}
    padding = [""] * (ncols + 1)
    new_tuple = tuple.__new__
    strip = str.strip
    reader = rows.reader

    batch: list[SourceContact | Reject] = []
    line = reader.line_num + 1
    start = line
    row: list[str] = []
    paused = False
    try:
        paused = _pause_gc()
        for row in reader:
            start = line
            if len(batch) >= size:
                if paused:
                    gc.enable()
                    paused = False
                yield batch
                batch = []
                paused = _pause_gc()
            count = len(row)
            if count == ncols:
                cells = list(map(strip, row))
                cells.append("")
            elif count < ncols:
                cells = list(map(strip, row))
                cells.extend(padding[count:])
            elif any(map(strip, row[ncols:])):
                batch.append(_malformed_reject(line, row, keys, id_index, delimiter))
                line = reader.line_num + 1
                continue
            else:  # surplus cells are all empty (trailing delimiters, common in spreadsheet exports)
                cells = list(map(strip, row[:ncols]))
                cells.append("")
            if not any(cells):
                line = reader.line_num + 1
                continue  # a blank line, or one made only of delimiters
            if check_nul and "\x00" in "".join(row):
                batch.append(_nul_reject(line, cells, keys, id_index))
                line = reader.line_num + 1
                continue

            values = get_scalars(cells)
            if fallbacks:
                values = _apply_fallbacks(values, fallbacks, cells)

            contact_phones: list[RawPhone] = []
            if simple_phones is not None:
                for index, fixed_phone_type, primary in simple_phones:
                    if value := cells[index]:
                        contact_phones.append(new_tuple(RawPhone, (value, fixed_phone_type, primary)))
            else:
                for index, fixed_type, primary, type_index, split in phones:
                    if not (value := cells[index]):
                        continue
                    if fixed_type is None:
                        label = cells[type_index]
                        typed = phone_labels.get(label)
                        if typed is None:
                            typed = google_phone_type(label)
                            if len(phone_labels) < _LABEL_CACHE_LIMIT:
                                phone_labels[label] = typed
                        phone_type, is_primary = typed
                    else:
                        phone_type, is_primary = fixed_type, primary
                    if split and _has_separator(value, split):
                        contact_phones.extend(
                            new_tuple(RawPhone, (part, phone_type, is_primary)) for part in _split(value, split)
                        )
                    else:
                        contact_phones.append(new_tuple(RawPhone, (value, phone_type, is_primary)))

            contact_emails: list[RawEmail] = []
            if simple_emails is not None:
                for index, fixed_email_type, primary in simple_emails:
                    if value := cells[index]:
                        contact_emails.append(new_tuple(RawEmail, (value, fixed_email_type, primary)))
            else:
                for index, fixed_type, primary, type_index, split in emails:
                    if not (value := cells[index]):
                        continue
                    if fixed_type is None:
                        label = cells[type_index]
                        email_typed = email_labels.get(label)
                        if email_typed is None:
                            email_typed = google_email_type(label)
                            if len(email_labels) < _LABEL_CACHE_LIMIT:
                                email_labels[label] = email_typed
                        email_type, is_primary = email_typed
                    else:
                        email_type, is_primary = fixed_type, primary
                    if split and _has_separator(value, split):
                        contact_emails.extend(
                            new_tuple(RawEmail, (part, email_type, is_primary)) for part in _split(value, split)
                        )
                    else:
                        contact_emails.append(new_tuple(RawEmail, (value, email_type, is_primary)))

            tags: list[str] = []
            for index in tag_indexes:
                if value := cells[index]:
                    tags.extend(split_tags(value))

            external_id, first_name, last_name, display_name, company, job_title, notes = values
            batch.append(
                SourceContact(
                    external_id or None,
                    first_name or None,
                    last_name or None,
                    display_name or None,
                    company or None,
                    job_title or None,
                    notes or None,
                    contact_phones,
                    contact_emails,
                    tags,
                    None,
                    False,
                    line,
                    dict(compress(zip(keys, cells, strict=False), cells)),
                )
            )
            line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as error:
        raise rows.failed(error, line) from None
    finally:
        if paused:
            gc.enable()
    if batch and any("\n" in cell or "\r" in cell for cell in row) and quote_left_open(start):
        last = batch[-1]
        if last.row_number == start:
            batch[-1] = Reject(
                reason=MALFORMED_ROW,
                message=f"a quote opened on line {start} is never closed: the rest of the file would be one value",
                row_number=start,
                external_id=last.external_id,
                raw=last.raw,
            )
    if batch:
        yield batch


def _pause_gc() -> bool:
    """Pause the cyclic garbage collector while one batch is built; True if it was running (and must be resumed).

    Building a batch allocates several containers per record and none of them form cycles, so the collector
    only re-traverses live objects: measured at about a third of the loop's time. It is paused only inside the
    loop's own code, never across a `yield`, so the caller's code always runs with the collector as it set it.
    """
    if gc.isenabled():
        gc.disable()
        return True
    return False


_Setter = tuple[int, Any, bool, int, str]


def _value_setters(columns: list[ValueColumn], sentinel: int) -> tuple[_Setter, ...]:
    return tuple(
        (
            column.index,
            column.type,
            column.primary,
            sentinel if column.type_index is None else column.type_index,
            column.split.value,
        )
        for column in columns
    )


def _simple_setters(columns: list[ValueColumn]) -> tuple[tuple[int, Any, bool], ...] | None:
    """(index, type, primary) per column when every column has a fixed type and no splitting, else None.

    A plain loop over these beats an all-C `filter`/`map` pipeline here: building each tuple through
    `partial(tuple.__new__, ...)` costs more than the loop saves.
    """
    if any(column.type is None or column.split for column in columns):
        return None
    return tuple((column.index, column.type, column.primary) for column in columns)


def _apply_fallbacks(
    values: tuple[str, ...], fallbacks: tuple[tuple[int, tuple[int, ...]], ...], cells: list[str]
) -> tuple[str, ...]:
    """Several columns feed one scalar field: the first non-empty one, in file order, wins."""
    patched: list[str] | None = None
    for position, indexes in fallbacks:
        if values[position]:
            continue
        for index in indexes:
            if cells[index]:
                if patched is None:
                    patched = list(values)
                patched[position] = cells[index]
                break
    return values if patched is None else tuple(patched)


def _has_separator(value: str, split: str) -> bool:
    if split == Split.GOOGLE:
        return ":::" in value
    return ";" in value or "," in value


def _split(value: str, split: str) -> list[str]:
    parts = value.split(":::") if split == Split.GOOGLE else value.replace(";", ",").split(",")
    return [stripped for part in parts if (stripped := part.strip())]


def _malformed_reject(line: int, row: list[str], keys: list[str], id_index: int, delimiter: str) -> Reject:
    ncols = len(keys)
    raw = {key: cell for key, cell in zip(keys, row, strict=False) if cell.strip()}
    extra = row[ncols:]
    raw.update((f"_extra_{n}", cell) for n, cell in enumerate(extra, start=1) if cell.strip())
    external_id = row[id_index].strip() or None if id_index < ncols else None
    return Reject(
        reason=MALFORMED_ROW,
        message=(
            f"the record has {len(row)} cells but the header has {ncols}; "
            "look for an unquoted delimiter or a stray quote"
        ),
        row_number=line,
        external_id=external_id,
        value=delimiter.join(extra),
        raw=raw,
    )


def _nul_reject(line: int, cells: list[str], keys: list[str], id_index: int) -> Reject:
    raw = {key: cell.replace("\x00", "") for key, cell in zip(keys, cells, strict=False) if cell}
    external_id = cells[id_index] if id_index < len(keys) else None
    return Reject(
        reason=MALFORMED_ROW,
        message="the record contains NUL bytes (binary data inside the text file)",
        row_number=line,
        external_id=external_id.replace("\x00", "") if external_id else None,
        raw=raw,
    )
