"""Stripe, behind a small gateway. This is the only module that imports `stripe`.

Everything that leaves here is a plain dict or dataclass, so the rest of the app
never handles Stripe objects. Metadata sent to Stripe is the member's opaque public
id and nothing else: no names, workplaces or dues levels.

`stripe` (with the requests and aiohttp it brings, some 15 MB) is imported when
the gateway first talks to Stripe or checks a webhook, not with the app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import stripe
else:
    stripe = None


def _load_stripe() -> None:
    """Binds `stripe` in this module when it is needed (after the first time,
    the import finds it loaded): every use of it below comes after the client is
    made or a webhook is checked."""
    global stripe
    import stripe as loaded

    stripe = loaded


#: The product every dues price belongs to; a fixed id makes setup repeatable.
PRODUCT_ID = "union_dues"


class GatewayError(Exception):
    """Stripe could not be reached or refused the request."""


class SubscriptionEnded(GatewayError):
    """The subscription has ended in Stripe, or Stripe no longer knows it."""


#: Stripe's statuses of a subscription that will never bill again.
ENDED_STATUSES = ("canceled", "incomplete_expired")


class InvalidWebhook(Exception):
    """A webhook whose signature is missing, wrong, stale or whose body is not JSON."""


class MalformedEvent(Exception):
    """A signed event with a field the app reads missing or of the wrong type. The
    message is the field's path, never its value."""


_T = TypeVar("_T")

#: Stripe ids are kept in columns this long.
MAX_ID_LENGTH = 64
#: Amounts and counts fit the database's integer columns.
MAX_COUNT = 2**31 - 1
#: 9999-12-31T23:59:59Z, the last moment a datetime holds.
MAX_TIMESTAMP = 253_402_300_799


class EventFields:
    """Typed reads from one object of a verified Stripe event.

    Each read checks the type Stripe documents for the field, so an event with a
    field of the wrong type is refused (MalformedEvent) before anything is written,
    instead of failing somewhere in a handler or in the database, which would answer
    500 and have Stripe retry the same bytes for days. Absent and null read alike.
    """

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self._data = data
        self.path = path

    @classmethod
    def of(cls, value: Any, path: str) -> EventFields:
        if not isinstance(value, dict):
            raise MalformedEvent(path)
        return cls(value, path)

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}"

    @property
    def empty(self) -> bool:
        return not self._data

    def child(self, key: str, *, required: bool = False) -> EventFields:
        """A nested object; an empty one when it is absent and may be."""
        value = self._data.get(key)
        if value is None and not required:
            return EventFields({}, self._at(key))
        return EventFields.of(value, self._at(key))

    def items(self, key: str) -> list[EventFields]:
        """A list of objects (a list's `data`, say); empty when absent."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise MalformedEvent(self._at(key))
        return [
            EventFields.of(item, f"{self._at(key)}[{index}]")
            for index, item in enumerate(value)
        ]

    def text(self, key: str, *, max_length: int = 500) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_length:
            raise MalformedEvent(self._at(key))
        return value

    def required_text(self, key: str, *, max_length: int = 500) -> str:
        return self._present(key, self.text(key, max_length=max_length))

    def stripe_id(self, key: str) -> str | None:
        """An object's id, given as the id or as the object Stripe expanded."""
        value = self._data.get(key)
        if isinstance(value, dict):
            return EventFields(value, self._at(key)).required_id("id")
        if value is None:
            return None
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
            raise MalformedEvent(self._at(key))
        return value

    def required_id(self, key: str) -> str:
        return self._present(key, self.stripe_id(key))

    def count(self, key: str) -> int | None:
        """Cents, or another whole number that cannot be negative."""
        return self._whole(key, 0, MAX_COUNT)

    def required_count(self, key: str) -> int:
        return self._present(key, self.count(key))

    def integer(self, key: str) -> int | None:
        """Cents that may be negative (an invoice line crediting the customer)."""
        return self._whole(key, -MAX_COUNT, MAX_COUNT)

    def timestamp(self, key: str) -> datetime | None:
        """A moment, sent as whole seconds since 1970 (UTC)."""
        seconds = self._whole(key, 0, MAX_TIMESTAMP)
        return None if seconds is None else datetime.fromtimestamp(seconds, UTC)

    def _whole(self, key: str, lowest: int, highest: int) -> int | None:
        """A whole number from `lowest` to `highest`, or None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not lowest <= value <= highest
        ):
            raise MalformedEvent(self._at(key))
        return value

    def required_timestamp(self, key: str) -> datetime:
        return self._present(key, self.timestamp(key))

    def _present(self, key: str, value: _T | None) -> _T:
        if value is None:
            raise MalformedEvent(self._at(key))
        return value

    def flag(self, key: str) -> bool:
        value = self._data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise MalformedEvent(self._at(key))
        return value


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    session_id: str
    url: str


class StripeGateway:
    def __init__(
        self,
        secret_key: str,
        *,
        webhook_secret: str,
        api_base: str | None = None,
        currency: str = "cad",
        product_name: str = "Membership dues",
        statement_descriptor: str = "MEMBERSHIP",
    ) -> None:
        self._secret_key = secret_key
        self._api_base = api_base
        self._http: stripe.RequestsClient | None = None
        self.webhook_secret = webhook_secret
        self.currency = currency.lower()
        self.product_name = product_name
        self.statement_descriptor = statement_descriptor

    @cached_property
    def client(self) -> stripe.StripeClient:
        _load_stripe()
        self._http = stripe.RequestsClient()
        return stripe.StripeClient(
            self._secret_key,
            http_client=self._http,
            base_addresses={"api": self._api_base} if self._api_base else None,
            # A local peer ignores idempotency keys, so a retried POST would duplicate.
            max_network_retries=0 if self._api_base else 2,
        )

    def close(self) -> None:
        """Closes the pooled HTTP connections to Stripe, if any were opened."""
        if self._http is not None:
            self._http.close()  # type: ignore[no-untyped-call]  # stripe leaves it unannotated

    # Webhooks -------------------------------------------------------------------------

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event in a webhook body, after checking Stripe's signature on the raw
        bytes (wrong secret, tampering and timestamps over 5 minutes old all fail)."""
        _load_stripe()
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature or "",
                self.webhook_secret,
                tolerance=300,
            )
            event = json.loads(payload)
        except (
            stripe.SignatureVerificationError,
            UnicodeDecodeError,
            ValueError,
            RecursionError,
        ) as error:
            raise InvalidWebhook(type(error).__name__) from error
        if not isinstance(event, dict):
            raise InvalidWebhook("not an event")
        # The id is the key every delivery is stored under; without a usable one
        # there is nothing to record the event by.
        event_id = event.get("id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
            raise InvalidWebhook("not an event")
        return event

    # The catalogue: one product, one recurring price per dues amount -----------------

    def ensure_product(self) -> str:
        try:
            product = self.client.v1.products.retrieve(PRODUCT_ID)
        except stripe.InvalidRequestError:
            product = self._call(
                self.client.v1.products.create,
                {
                    "id": PRODUCT_ID,
                    "name": self.product_name,
                    "statement_descriptor": self.statement_descriptor,
                },
                idempotency_key=f"product-{PRODUCT_ID}",
            )
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error
        return str(product.id)

    def ensure_price(
        self,
        *,
        lookup_key: str,
        monthly_cents: int,
        idempotency_key: str,
        price_id: str | None = None,
    ) -> str:
        """The active monthly price for one dues amount, found before anything is
        created, so that asking again (a job run twice) never makes a second one:

        - `price_id`, the price we already have, when it is still that amount; it
          takes `lookup_key` over if that has moved on (a dated amount that is now
          the one in force);
        - else the active price holding `lookup_key` at that amount;
        - else a new price, taking the key over from an older one. Stripe answers
          a repeated `idempotency_key` with the price it made the first time.
        """
        if price_id is not None:
            kept = self._price_if_still(price_id, monthly_cents)
            if kept is not None:
                if kept.get("lookup_key") != lookup_key:
                    self._call(
                        self.client.v1.prices.update,
                        price_id,
                        {"lookup_key": lookup_key, "transfer_lookup_key": True},
                    )
                return price_id
        found = self._call(
            self.client.v1.prices.list,
            {"lookup_keys": [lookup_key], "active": True, "limit": 1},
        )
        for price in found.data:
            if _monthly_at(price.to_dict(), monthly_cents):
                return str(price.id)
        price = self._call(
            self.client.v1.prices.create,
            {
                "currency": self.currency,
                "unit_amount": monthly_cents,
                "product": PRODUCT_ID,
                "recurring": {"interval": "month"},
                "lookup_key": lookup_key,
                "transfer_lookup_key": True,
            },
            idempotency_key=idempotency_key,
        )
        return str(price.id)

    def _price_if_still(
        self, price_id: str, monthly_cents: int
    ) -> dict[str, Any] | None:
        """The price, when it is still active at that monthly amount."""
        try:
            price = self.client.v1.prices.retrieve(price_id).to_dict()
        except stripe.InvalidRequestError:
            return None
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error
        return (
            price if price.get("active") and _monthly_at(price, monthly_cents) else None
        )

    # Customers, Checkout and the Portal ----------------------------------------------

    def create_customer(self, *, member_ref: str, email: str | None) -> str:
        params: dict[str, Any] = {"metadata": {"member": member_ref}}
        if email:
            params["email"] = email
        customer = self._call(
            self.client.v1.customers.create,
            params,
            idempotency_key=f"customer-{member_ref}",
        )
        return str(customer.id)

    def subscription_checkout(
        self,
        *,
        customer_id: str,
        member_ref: str,
        price_id: str,
        initiation_cents: int,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutLink:
        """Checkout for monthly card dues; the initiation fee, if owed, is a one-time
        line on the first invoice."""
        line_items: list[dict[str, Any]] = [{"price": price_id, "quantity": 1}]
        if initiation_cents:
            line_items.append(
                {
                    "price_data": {
                        "currency": self.currency,
                        "product": PRODUCT_ID,
                        "unit_amount": initiation_cents,
                    },
                    "quantity": 1,
                }
            )
        session = self._call(
            self.client.v1.checkout.sessions.create,
            {
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": member_ref,
                "line_items": line_items,
                "subscription_data": {"metadata": {"member": member_ref}},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            idempotency_key=idempotency_key,
        )
        return CheckoutLink(str(session.id), str(session.url))

    def one_off_checkout(
        self,
        *,
        customer_id: str,
        member_ref: str,
        amount_cents: int,
        attempt_ref: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutLink:
        """Checkout for one card payment; our attempt record says what it covers."""
        metadata = {"member": member_ref, "attempt": attempt_ref}
        session = self._call(
            self.client.v1.checkout.sessions.create,
            {
                "mode": "payment",
                "customer": customer_id,
                "client_reference_id": member_ref,
                "line_items": [
                    {
                        "price_data": {
                            "currency": self.currency,
                            "product": PRODUCT_ID,
                            "unit_amount": amount_cents,
                        },
                        "quantity": 1,
                    }
                ],
                "metadata": metadata,
                "payment_intent_data": {
                    "metadata": metadata,
                    "statement_descriptor": self.statement_descriptor,
                },
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            idempotency_key=idempotency_key,
        )
        return CheckoutLink(str(session.id), str(session.url))

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        session = self._call(
            self.client.v1.billing_portal.sessions.create,
            {"customer": customer_id, "return_url": return_url},
        )
        return str(session.url)

    # Subscriptions -------------------------------------------------------------------

    def change_subscription_price(
        self, *, subscription_id: str, price_id: str, idempotency_key: str
    ) -> None:
        """Moves a subscription to another price from its next invoice, without
        prorating (a level change takes effect from the next month). Raises
        SubscriptionEnded for one Stripe has ended or no longer knows."""
        try:
            subscription = self.client.v1.subscriptions.retrieve(
                subscription_id
            ).to_dict()
        except stripe.InvalidRequestError as error:
            if _already_gone(error):
                raise SubscriptionEnded(type(error).__name__) from error
            raise GatewayError(type(error).__name__) from error
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error
        if subscription.get("status") in ENDED_STATUSES:
            raise SubscriptionEnded(str(subscription.get("status")))
        item_id = subscription["items"]["data"][0]["id"]
        self._call(
            self.client.v1.subscriptions.update,
            subscription_id,
            {
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": "none",
            },
            idempotency_key=idempotency_key,
        )

    def cancel_subscription(self, subscription_id: str) -> None:
        """Ends a subscription now. One that Stripe no longer knows, or that is
        already cancelled, counts as done, so a retried erasure goes through."""
        try:
            self.client.v1.subscriptions.cancel(subscription_id)
        except stripe.InvalidRequestError as error:
            if not _already_gone(error):
                raise GatewayError(type(error).__name__) from error
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error

    def delete_customer(self, customer_id: str) -> None:
        """Deletes the Stripe customer (and with it the saved card and any
        subscription). A customer already deleted counts as done."""
        try:
            self.client.v1.customers.delete(customer_id)
        except stripe.InvalidRequestError as error:
            if not _already_gone(error):
                raise GatewayError(type(error).__name__) from error
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error

    def subscriptions(self, customer_id: str) -> list[dict[str, Any]]:
        found = self._call(
            self.client.v1.subscriptions.list,
            {"customer": customer_id, "status": "all"},
        )
        return [subscription.to_dict() for subscription in found.auto_paging_iter()]

    def paid_invoices(self, *, created_since: int) -> Iterator[dict[str, Any]]:
        """Every paid invoice created since the given Unix time, page by page."""
        found = self._call(
            self.client.v1.invoices.list,
            {"status": "paid", "created": {"gte": created_since}, "limit": 100},
        )
        for invoice in found.auto_paging_iter():
            yield invoice.to_dict()

    def _call(self, method: Any, *args: Any, idempotency_key: str | None = None) -> Any:
        options: Mapping[str, Any] = (
            {"idempotency_key": idempotency_key} if idempotency_key else {}
        )
        try:
            if options:
                return method(*args, options=options)
            return method(*args)
        except stripe.StripeError as error:
            raise GatewayError(type(error).__name__) from error


def _monthly_at(price: Mapping[str, Any], monthly_cents: int) -> bool:
    recurring = price.get("recurring") or {}
    return bool(
        price.get("unit_amount") == monthly_cents
        and recurring.get("interval") == "month"
    )


def _already_gone(error: stripe.InvalidRequestError) -> bool:
    """Stripe's answer for an object that no longer exists or is already ended."""
    return error.http_status == 404 or error.code in (
        "resource_missing",
        "subscription_canceled",
    )


def gateway_from_config(config: Mapping[str, Any]) -> StripeGateway | None:
    """The Stripe gateway, or None when no key is configured (card payment is then
    shown as unavailable and everything else works)."""
    if not config.get("STRIPE_SECRET_KEY"):
        return None
    return StripeGateway(
        config["STRIPE_SECRET_KEY"],
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET") or "",
        api_base=config.get("STRIPE_API_BASE"),
        currency=config["UNION_CURRENCY"],
        statement_descriptor=config["STRIPE_STATEMENT_DESCRIPTOR"],
        product_name=config["STRIPE_PRODUCT_NAME"],
    )
