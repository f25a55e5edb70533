"""The Dagster code location: `workspace.yaml` and `dg` load `defs` from here."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.csv_assets import csv_contacts, csv_import_job
from pipelines.hubspot_assets import (
    hubspot_contacts,
    hubspot_full_resync_schedule,
    hubspot_resource,
    hubspot_sync_job,
    hubspot_sync_schedule,
)
from pipelines.maintenance import store_maintenance_job, store_maintenance_schedule
from pipelines.resources import ContactStoreResource
from pipelines.salesforce_assets import (
    salesforce_contacts,
    salesforce_full_resync_schedule,
    salesforce_resource,
    salesforce_sync_job,
    salesforce_sync_schedule,
)
from pipelines.sensors import csv_drop_folder_sensor, drop_outcome_sensors
from pipelines.zoho_assets import (
    zoho_contacts,
    zoho_full_resync_schedule,
    zoho_resource,
    zoho_sync_job,
    zoho_sync_schedule,
)


def contact_store() -> ContactStoreResource:
    """The store named by $CONTACTS_DATABASE_URL (resolved in the run, never shown), else the embedded default."""
    if os.environ.get("CONTACTS_DATABASE_URL"):
        return ContactStoreResource(database_url=dg.EnvVar("CONTACTS_DATABASE_URL"))
    return ContactStoreResource()


defs = dg.Definitions(
    assets=[csv_contacts, salesforce_contacts, hubspot_contacts, zoho_contacts],
    jobs=[csv_import_job, salesforce_sync_job, hubspot_sync_job, zoho_sync_job, store_maintenance_job],
    sensors=[csv_drop_folder_sensor, *drop_outcome_sensors],
    schedules=[
        salesforce_sync_schedule,
        salesforce_full_resync_schedule,
        hubspot_sync_schedule,
        hubspot_full_resync_schedule,
        zoho_sync_schedule,
        zoho_full_resync_schedule,
        store_maintenance_schedule,
    ],
    resources={
        "contact_store": contact_store(),
        "salesforce": salesforce_resource(),
        "hubspot": hubspot_resource(),
        "zoho": zoho_resource(),
    },
)
