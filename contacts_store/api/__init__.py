"""The contacts REST API (`/v1.0/contacts`): `create_app()` builds it, `contacts_store.api.app:app` serves it."""
