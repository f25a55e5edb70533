"""Finding the delimiter of a CSV file.

`csv.Sniffer` guesses from character frequencies and is easily fooled by commas inside quoted company names or
notes. Parsing the first records with each candidate and keeping the one that yields the same number of fields on
every row is slower but far more reliable, and the sample is small.
"""

from __future__ import annotations

import csv
import io

CANDIDATES = (",", ";", "\t", "|")
SAMPLE_RECORDS = 50
_CONSISTENT = 0.9
"""Share of data rows that must have the header's field count; a few ragged rows are common in real exports."""


def sniff_delimiter(sample: str, complete: bool) -> str:
    """Pick the delimiter for a file that starts with `sample`.

    `complete` says the sample is the whole file; otherwise its last record may be cut short and is not counted.
    The header decides the field count a delimiter claims; a delimiter that splits the header into one field is
    never chosen, so a one-column file falls back to a comma.
    """
    best: tuple[bool, float, int, int] | None = None
    choice = ","
    for rank, delimiter in enumerate(CANDIDATES):
        counts = _field_counts(sample, delimiter, complete)
        if not counts or counts[0] < 2:
            continue
        header, rows = counts[0], counts[1:]
        share = sum(1 for n in rows if n == header) / len(rows) if rows else 1.0
        consistent = share >= _CONSISTENT
        # Consistent candidates compete on field count; inconsistent ones only on how close they come.
        key = (consistent, 0.0 if consistent else share, header, -rank)
        if best is None or key > best:
            best, choice = key, delimiter
    return choice


def _field_counts(sample: str, delimiter: str, complete: bool) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    counts: list[int] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            counts.append(len(row))
            if len(counts) > SAMPLE_RECORDS:
                break
        else:
            if not complete and len(counts) > 1:
                counts.pop()
    except csv.Error:
        return counts
    return counts
