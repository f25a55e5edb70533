"""CSV connector: any real-world contact CSV export in, batches of `SourceContact` out.

It finds the encoding, delimiter and header of the file, maps the columns of common exports (Google Contacts,
Outlook, Thunderbird, Salesforce, HubSpot, Zoho, our own template) to contact fields, and passes phone and email
text through untouched for the normalization stage to validate.
"""

from connectors.csv_files.errors import CsvImportError
from connectors.csv_files.headers import normalize_header
from connectors.csv_files.mapping_file import ColumnMapping, load_mapping
from connectors.csv_files.reader import CsvSource, open_csv
from connectors.csv_files.rejects_report import RejectsReport, write_rejects_report

__all__ = [
    "ColumnMapping",
    "CsvImportError",
    "CsvSource",
    "RejectsReport",
    "load_mapping",
    "normalize_header",
    "open_csv",
    "write_rejects_report",
]
