"""HubSpot connector: a portal's contacts, listed in full or searched incrementally through the CRM v3 API."""

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import DEFAULT_FIELD_MAP, FieldMap, parse_field_specs
from connectors.hubspot.settings import HubSpotCredentials
from connectors.hubspot.source import SYSTEM, HubSpotSource, HubSpotSyncSettings

__all__ = [
    "DEFAULT_FIELD_MAP",
    "SYSTEM",
    "FieldMap",
    "HubSpotClient",
    "HubSpotCredentials",
    "HubSpotSource",
    "HubSpotSyncSettings",
    "parse_field_specs",
]
