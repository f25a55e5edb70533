"""Salesforce connector: an org's Contacts, incrementally through `queryAll` or in bulk through Bulk API 2.0."""

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import DEFAULT_FIELD_MAP, FieldMap, parse_field_specs
from connectors.salesforce.settings import SalesforceCredentials
from connectors.salesforce.source import SYSTEM, SalesforceSource, SalesforceSyncSettings

__all__ = [
    "DEFAULT_FIELD_MAP",
    "SYSTEM",
    "FieldMap",
    "SalesforceClient",
    "SalesforceCredentials",
    "SalesforceSource",
    "SalesforceSyncSettings",
    "parse_field_specs",
]
