"""The FastAPI app: `create_app()` for tests and embedding, `app` for `uvicorn contacts_store.api.app:app`.

Reads (get, lookup) are `async` and query the store directly: they are a few indexed look-ups of well under a
millisecond, cheaper than the hop to a worker thread. Writes and listing (a name search may scan) run in the
thread pool.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection, Engine
from starlette.routing import Route

from contacts_store import edits
from contacts_store.api.auth import Customer, TokenCache, authenticate, request_token
from contacts_store.api.errors import ApiError, error_response, install_error_handlers, not_found
from contacts_store.api.models import (
    Contact,
    ContactCreate,
    ContactList,
    ContactUpdate,
    EmailIn,
    EmailUpdate,
    ErrorBody,
    Health,
    PhoneNumberIn,
    PhoneNumberUpdate,
    TagIn,
)
from contacts_store.contacts import ContactFilter, InvalidLookupValue, InvalidPageToken, list_contacts
from contacts_store.hot_path import contact_by_email, contact_by_id, contact_by_phone
from contacts_store.normalize import DEFAULT_REGION
from contacts_store.records import Source

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in ((400, "Bad request"), (401, "No valid token"), (404, "Not found"), (409, "Conflict"))
}
router = APIRouter(prefix="/v1.0", responses=ERRORS)
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL; refusing it keeps both stores alike


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _region(request: Request) -> str:
    region: str = request.app.state.region
    return region


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """The store's exceptions as API errors."""
    try:
        yield
    except edits.NotFound as error:
        raise not_found(error.what) from None
    except edits.Conflict as error:
        raise ApiError(409, "ALREADY_EXISTS", str(error)) from None
    except (edits.InvalidValue, InvalidLookupValue, InvalidPageToken) as error:
        raise ApiError(400, "INVALID_ARGUMENT", str(error)) from None
    except sa.exc.IntegrityError:
        raise ApiError(409, "ALREADY_EXISTS", "a concurrent change conflicts with this one; retry") from None
    except sa.exc.DataError as error:  # e.g. a NUL character in a query parameter, which PostgreSQL refuses
        message = str(error.orig or error).strip().splitlines()[0]
        raise ApiError(400, "INVALID_ARGUMENT", f"the store refused a value: {message}") from None


def _read(request: Request, read: Any) -> Any:
    """`read(conn)` on an autocommit connection; once more on a fresh one if the first was found dead."""
    engine: Engine = request.app.state.read_engine
    for attempt in (1, 2):
        with engine.connect() as conn:
            try:
                return read(conn)
            except engine.dialect.loaded_dbapi.Error as error:
                driver = conn.connection.driver_connection
                if attempt == 2 or not engine.dialect.is_disconnect(error, driver, None):
                    raise
                conn.invalidate()
    raise AssertionError("unreachable")


def _document(conn: Connection, customer: uuid.UUID, contact_id: uuid.UUID, deleted: bool = False) -> JSONResponse:
    document = contact_by_id(conn, customer, contact_id, include_deleted=deleted)
    if document is None:
        raise not_found("contact")
    return JSONResponse(document)


def _write(
    request: Request, customer: uuid.UUID, contact_id: uuid.UUID, change: Any, status: int = 200
) -> JSONResponse:
    """Run one change in one transaction and answer with the whole contact, as it is after the change."""
    with _store_errors(), _engine(request).begin() as conn:
        change(conn)
        response = _document(conn, customer, contact_id, deleted=True)
    response.status_code = status
    return response


@router.get("/contacts", response_model=ContactList, summary="List live contacts, newest first")
def list_(
    request: Request,
    customer: Customer,
    page_size: Annotated[int, Query(ge=1, le=100)] = 100,
    page_token: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    tag: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    source: Source | None = None,
    external_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    q: Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="Part of a name or company")] = None,
) -> JSONResponse:
    where = ContactFilter(tag=tag, source=str(source) if source else None, external_id=external_id, q=q)
    with _store_errors(), _engine(request).connect() as conn:
        result, next_token = list_contacts(conn, customer, page_size, page_token, where)
    return JSONResponse({"result": result, "next_page_token": next_token})


@router.post("/contacts", response_model=Contact, status_code=201, summary="Create a contact with its children")
def create(request: Request, customer: Customer, body: ContactCreate) -> JSONResponse:
    data = edits.ContactInput(
        **body.model_dump(exclude={"phone_numbers", "emails"}),
        phone_numbers=[edits.PhoneInput(**p.model_dump()) for p in body.phone_numbers],
        emails=[edits.EmailInput(**e.model_dump()) for e in body.emails],
    )
    with _store_errors(), _engine(request).begin() as conn:
        contact_id = edits.create_contact(conn, customer, data, _region(request))
        response = _document(conn, customer, contact_id)
    response.status_code = 201
    return response


LOOKUP_DOCS: dict[str, Any] = {
    "parameters": [
        {
            "name": "phone",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "Any spelling; a + that arrived unencoded as a space still counts",
        },
        {
            "name": "email",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 320},
            "description": "Case-insensitive",
        },
    ],
    "security": [{"HTTPBearer": []}, {"APIKeyQuery": []}],
}


@router.get(
    "/contacts/lookup",
    response_model=Contact,
    summary="The contact with this phone number or email",
    openapi_extra=LOOKUP_DOCS,
)
async def lookup(request: Request) -> JSONResponse:
    """Phone first, then email when the phone matches nothing. Among several holders: the contact for which it is
    primary, then the oldest. Deleted contacts never match.

    The hot path of an incoming call: parameters and token are read here rather than through FastAPI's
    dependency injection, which cost more than the two queries (`LOOKUP_DOCS` documents them).
    """
    customer = authenticate(request, request_token(request))
    phone, email = request.query_params.get("phone"), request.query_params.get("email")
    if not phone and not email:
        raise ApiError(400, "INVALID_ARGUMENT", "give phone or email")
    if (phone and len(phone) > 64) or (email and len(email) > 320):
        raise ApiError(400, "INVALID_ARGUMENT", "phone is at most 64 characters, email at most 320")
    region = _region(request)

    def find(conn: Connection) -> dict[str, Any] | None:
        found = contact_by_phone(conn, customer, phone, region) if phone else None
        return contact_by_email(conn, customer, email) if found is None and email else found

    with _store_errors():
        document = _read(request, find)
    if document is None:
        raise not_found("contact")
    return JSONResponse(document)


@router.get("/contacts/{contact_id}", response_model=Contact, summary="One contact")
async def read(request: Request, customer: Customer, contact_id: uuid.UUID) -> JSONResponse:
    document = _read(request, lambda conn: contact_by_id(conn, customer, contact_id))
    if document is None:
        raise not_found("contact")
    return JSONResponse(document)


@router.put("/contacts/{contact_id}", response_model=Contact, summary="Change the fields sent")
def update(request: Request, customer: Customer, contact_id: uuid.UUID, body: ContactUpdate) -> JSONResponse:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return _write(request, customer, contact_id, lambda conn: edits.update_contact(conn, customer, contact_id, changes))


@router.delete("/contacts/{contact_id}", response_model=Contact, summary="Soft-delete; returns the deleted contact")
def delete(request: Request, customer: Customer, contact_id: uuid.UUID) -> JSONResponse:
    return _write(request, customer, contact_id, lambda conn: edits.delete_contact(conn, customer, contact_id))


@router.post("/contacts/{contact_id}/phone-numbers", response_model=Contact, status_code=201)
def add_phone(request: Request, customer: Customer, contact_id: uuid.UUID, body: PhoneNumberIn) -> JSONResponse:
    phone = edits.PhoneInput(**body.model_dump())
    region = _region(request)
    change = lambda conn: edits.add_phone(conn, customer, contact_id, phone, region)  # noqa: E731
    return _write(request, customer, contact_id, change, status=201)


@router.put("/contacts/{contact_id}/phone-numbers/{phone_number_id}", response_model=Contact)
def update_phone(
    request: Request, customer: Customer, contact_id: uuid.UUID, phone_number_id: uuid.UUID, body: PhoneNumberUpdate
) -> JSONResponse:
    region = _region(request)

    def change(conn: Connection) -> None:
        edits.update_phone(conn, customer, contact_id, phone_number_id, body.number, body.type, body.is_primary, region)

    return _write(request, customer, contact_id, change)


@router.delete("/contacts/{contact_id}/phone-numbers/{phone_number_id}", response_model=Contact)
def remove_phone(
    request: Request, customer: Customer, contact_id: uuid.UUID, phone_number_id: uuid.UUID
) -> JSONResponse:
    return _write(
        request, customer, contact_id, lambda conn: edits.remove_phone(conn, customer, contact_id, phone_number_id)
    )


@router.post("/contacts/{contact_id}/emails", response_model=Contact, status_code=201)
def add_email(request: Request, customer: Customer, contact_id: uuid.UUID, body: EmailIn) -> JSONResponse:
    email = edits.EmailInput(**body.model_dump())
    return _write(
        request, customer, contact_id, lambda conn: edits.add_email(conn, customer, contact_id, email), status=201
    )


@router.put("/contacts/{contact_id}/emails/{email_id}", response_model=Contact)
def update_email(
    request: Request, customer: Customer, contact_id: uuid.UUID, email_id: uuid.UUID, body: EmailUpdate
) -> JSONResponse:
    def change(conn: Connection) -> None:
        edits.update_email(conn, customer, contact_id, email_id, body.address, body.type, body.is_primary)

    return _write(request, customer, contact_id, change)


@router.delete("/contacts/{contact_id}/emails/{email_id}", response_model=Contact)
def remove_email(request: Request, customer: Customer, contact_id: uuid.UUID, email_id: uuid.UUID) -> JSONResponse:
    return _write(request, customer, contact_id, lambda conn: edits.remove_email(conn, customer, contact_id, email_id))


@router.post("/contacts/{contact_id}/tags", response_model=Contact, status_code=201)
def add_tag(request: Request, customer: Customer, contact_id: uuid.UUID, body: TagIn) -> JSONResponse:
    return _write(
        request, customer, contact_id, lambda conn: edits.add_tag(conn, customer, contact_id, body.tag), status=201
    )


@router.delete("/contacts/{contact_id}/tags/{tag}", response_model=Contact)
def remove_tag(
    request: Request,
    customer: Customer,
    contact_id: uuid.UUID,
    tag: Annotated[str, Path(max_length=255, pattern=NO_NUL)],
) -> JSONResponse:
    return _write(request, customer, contact_id, lambda conn: edits.remove_tag(conn, customer, contact_id, tag))


def _document_errors_as_sent(app: FastAPI) -> None:
    """Validation errors are answered as 400 with the error envelope, so the 422 FastAPI documents never occurs."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(database_url: str | None = None, region: str | None = None) -> FastAPI:
    """An app on the store at `database_url` (default: $CONTACTS_DATABASE_URL, else the embedded SQLite file)."""
    from contacts_store import settings
    from contacts_store.db import create_engine

    url = database_url or settings.database_url()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        app.state.engine.dispose()
        app.state.read_engine.dispose()

    app = FastAPI(
        title="contact-sync contacts API",
        version="1.0",
        description="Contacts with phone numbers, emails and tags; lookups by phone (E.164) and email.",
        lifespan=lifespan,
    )
    app.state.engine = create_engine(url)
    # Reads run in autocommit without a liveness ping: a lookup is then its own two statements, not BEGIN, a
    # ping, two statements and a ROLLBACK. A connection found dead is dropped and the read retried once.
    app.state.read_engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    app.state.region = (region or os.environ.get("CONTACTS_DEFAULT_REGION") or DEFAULT_REGION).upper()
    app.state.tokens = TokenCache()
    install_error_handlers(app)
    app.include_router(router)
    # The lookup also answers as a plain Starlette route ahead of the router: the same function, without
    # FastAPI's per-request machinery, which cost more than the lookup's own queries. The router's copy stays
    # for the OpenAPI document (and would answer if this one were removed).
    app.router.routes.insert(0, Route("/v1.0/contacts/lookup", lookup, methods=["GET"], include_in_schema=False))
    _document_errors_as_sent(app)

    @app.get("/health", response_model=Health, responses={503: {"model": ErrorBody}}, summary="Liveness and store")
    def health() -> JSONResponse:
        try:
            with app.state.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return error_response(503, "STORE_UNAVAILABLE", "the contact store cannot be reached")
        return JSONResponse({"status": "ok"})

    return app


app = create_app()
