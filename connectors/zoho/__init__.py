"""Zoho CRM connector: an organisation's contacts, listed by modification time through the REST API (v8)."""

from connectors.zoho.client import ZohoClient
from connectors.zoho.mapping import DEFAULT_FIELD_MAP, FieldMap, parse_field_specs
from connectors.zoho.settings import ZohoCredentials
from connectors.zoho.source import SYSTEM, ZohoSource, ZohoSyncSettings

__all__ = [
    "DEFAULT_FIELD_MAP",
    "SYSTEM",
    "FieldMap",
    "ZohoClient",
    "ZohoCredentials",
    "ZohoSource",
    "ZohoSyncSettings",
    "parse_field_specs",
]
