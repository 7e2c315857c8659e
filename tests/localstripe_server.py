"""Runs localstripe (pinned, test-only) as a Stripe peer bound to loopback.

The stock CLI listens on every interface and pickles its store to a file shared by
every instance, so this launcher imports localstripe's aiohttp app, binds it to
127.0.0.1 and keeps the store in memory. Shims fill the gaps that matter to the
dues app (see ../shared/notes/stripe-testing.md):

* a minimal Prices API (create, retrieve, update, list by lookup key), each
  recurring price backed by a Plan so subscriptions can use it;
* `price` / `price_data` in subscription items;
* a card declined while paying an invoice emits `invoice.payment_failed`, marks an
  active subscription `past_due` and answers 402, as Stripe does;
* Checkout Sessions and Billing Portal sessions that record what was asked and
  return a URL (completing Checkout is simulated by the tests with signed events);
* `proration_behavior` accepted on subscription updates; `status` and `created`
  filters on invoice lists.

With --browser, those URLs lead to two small pages this launcher serves itself, so
that a person can click through a card payment in development (README, "Card
payments on your machine"): a Checkout page whose button pays with Stripe's test
card 4242 4242 4242 4242 (a saved card, the subscription or the payment, then a
signed `checkout.session.completed` to every registered webhook) and returns to
the app, and a Portal page that only leads back. --webhook registers the app's
webhook at start, as `POST /_config/webhooks/ID` does.

usage: python localstripe_server.py --port PORT [--webhook-delay SECONDS]
           [--browser] [--webhook URL --webhook-secret SECRET]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import types
from typing import Any

from aiohttp import web
from localstripe import resources

#: Where Checkout and the Portal send a browser. By default addresses nothing
#: answers, which the browser tests intercept; --browser points them at the pages
#: below, on this launcher's own address.
PAGES = {
    "checkout": "https://checkout.localstripe.test/pay",
    "portal": "https://billing.localstripe.test/session",
}
#: A card Stripe's test mode (and localstripe) always accepts.
TEST_CARD = "pm_card_visa"


def apply_shims() -> dict[str, str]:
    """Patches localstripe; returns where each Portal session leads back to."""
    from localstripe.errors import UserError
    from localstripe.resources import (
        Event,
        Invoice,
        List,
        PaymentIntent,
        Plan,
        StripeObject,
        Subscription,
        extra_apis,
        random_id,
        store,
        try_convert_to_bool,
        try_convert_to_int,
    )
    from localstripe.webhooks import schedule_webhook

    class Price(StripeObject):
        object = "price"
        _id_prefix = "price_"

        def __init__(
            self,
            currency: str | None = None,
            unit_amount: Any = None,
            product: str | None = None,
            recurring: dict[str, Any] | None = None,
            lookup_key: str | None = None,
            transfer_lookup_key: Any = False,
            metadata: dict[str, Any] | None = None,
            nickname: str | None = None,
            active: Any = True,
            **kwargs: Any,
        ) -> None:
            if kwargs:
                raise UserError(400, "Unexpected " + ", ".join(kwargs))
            amount = try_convert_to_int(unit_amount)
            if not isinstance(amount, int) or amount < 0 or not currency or not product:
                raise UserError(400, "Bad request")
            taken = any(p.lookup_key == lookup_key for p in _prices())
            if lookup_key and taken and not try_convert_to_bool(transfer_lookup_key):
                raise UserError(400, "A price with this lookup_key already exists")
            for other in _prices():
                if lookup_key and other.lookup_key == lookup_key:
                    other.lookup_key = None
            super().__init__()
            self.active = try_convert_to_bool(active)
            self.currency = currency
            self.unit_amount = amount
            self.product = product
            self.lookup_key = lookup_key
            self.metadata = metadata or {}
            self.nickname = nickname
            self.recurring = None
            self.type = "one_time"
            if recurring:
                interval = recurring.get("interval", "month")
                count = try_convert_to_int(recurring.get("interval_count", 1))
                self.recurring = {"interval": interval, "interval_count": count}
                self.type = "recurring"
                Plan(
                    id=self.id,
                    amount=amount,
                    currency=currency,
                    interval=interval,
                    interval_count=count,
                    product=product,
                )

        def _update(self, **data: Any) -> None:
            transfer = try_convert_to_bool(data.pop("transfer_lookup_key", False))
            key = data.get("lookup_key")
            if key and transfer:
                for other in _prices():
                    if other is not self and other.lookup_key == key:
                        other.lookup_key = None
            if "active" in data:
                data["active"] = try_convert_to_bool(data["active"])
            super()._update(**data)

        @classmethod
        def _api_list_all(
            cls,
            url: str,
            lookup_keys: Any = None,
            active: Any = None,
            product: str | None = None,
            limit: Any = None,
            starting_after: str | None = None,
            type: str | None = None,
            **kwargs: Any,
        ) -> Any:
            if kwargs:
                raise UserError(400, "Unexpected " + ", ".join(kwargs))
            listing = List(url, limit=limit, starting_after=starting_after)
            found = _prices()
            if lookup_keys is not None:
                keys = lookup_keys if isinstance(lookup_keys, list) else [lookup_keys]
                found = [p for p in found if p.lookup_key in keys]
            if active is not None:
                found = [p for p in found if p.active == try_convert_to_bool(active)]
            if product is not None:
                found = [p for p in found if p.product == product]
            if type is not None:
                found = [p for p in found if p.type == type]
            listing._list = found
            return listing

    def _prices() -> list[Price]:
        return [value for key, value in store.items() if key.startswith("price:")]

    extra_apis.extend(
        [
            ("POST", "/v1/prices", lambda **data: Price(**data)),
            (
                "GET",
                "/v1/prices",
                lambda **data: Price._api_list_all("/v1/prices", **data),
            ),
            ("GET", "/v1/prices/{id}", lambda id, **data: Price._api_retrieve(id)),
            (
                "POST",
                "/v1/prices/{id}",
                lambda id, **data: Price._api_update(id, **data),
            ),
        ]
    )

    class CheckoutSession(StripeObject):
        object = "checkout.session"
        _id_prefix = "cs_test_"

        def __init__(self, **params: Any) -> None:
            if params.get("mode") not in ("subscription", "payment", "setup"):
                raise UserError(400, "Bad request")
            if not params.get("success_url") or not params.get("line_items"):
                raise UserError(400, "Bad request")
            super().__init__()
            for name, value in params.items():
                setattr(self, name, value)
            self.url = f"{PAGES['checkout']}/{self.id}"
            self.status = "open"
            self.payment_status = "unpaid"

    class PortalSession(StripeObject):
        object = "billing_portal.session"
        _id_prefix = "bps_"

        def __init__(
            self,
            customer: str | None = None,
            return_url: str | None = None,
            **kwargs: Any,
        ) -> None:
            if not customer or kwargs:
                raise UserError(400, "Bad request")
            super().__init__()
            self.customer = customer
            self.return_url = return_url
            self.url = f"{PAGES['portal']}/{random_id(16)}"
            _portal_returns[self.url.rsplit("/", 1)[1]] = return_url or ""

    extra_apis.extend(
        [
            ("POST", "/v1/checkout/sessions", lambda **data: CheckoutSession(**data)),
            (
                "GET",
                "/v1/checkout/sessions/{id}",
                lambda id, **data: CheckoutSession._api_retrieve(id),
            ),
            (
                "POST",
                "/v1/billing_portal/sessions",
                lambda **data: PortalSession(**data),
            ),
        ]
    )

    _portal_returns: dict[str, str] = {}

    def _plan_from_price_data(data: dict[str, Any]) -> str:
        recurring = data.get("recurring") or {}
        interval = recurring.get("interval", "month")
        count = int(recurring.get("interval_count", 1))
        amount = int(data["unit_amount"])
        plan_id = (
            f"price_{data['product']}_{data['currency']}_{amount}_{interval}{count}"
        )
        try:
            Plan._api_retrieve(plan_id)
        except UserError:
            Plan(
                id=plan_id,
                amount=amount,
                currency=data["currency"],
                interval=interval,
                interval_count=count,
                product=data["product"],
            )
        return plan_id

    def _translate_items(data: dict[str, Any]) -> dict[str, Any]:
        data.pop("proration_behavior", None)
        for item in data.get("items") or []:
            if "price" in item:
                item["plan"] = item.pop("price")
            if "price_data" in item:
                item["plan"] = _plan_from_price_data(item.pop("price_data"))
        return data

    create_subscription = Subscription._api_create.__func__
    update_subscription = Subscription._api_update.__func__
    Subscription._api_create = classmethod(
        lambda cls, **data: create_subscription(cls, **_translate_items(data))
    )
    Subscription._api_update = classmethod(
        lambda cls, id, **data: update_subscription(cls, id, **_translate_items(data))
    )

    pay_invoice = Invoice._api_pay_invoice.__func__

    def _declined(invoice: Any) -> Any:
        if not invoice.payment_intent:
            return None
        charge = PaymentIntent._api_retrieve(invoice.payment_intent).latest_charge
        return charge if charge is not None and charge.status == "failed" else None

    def _pay(cls: Any, id: str) -> Any:
        invoice = pay_invoice(cls, id)
        if _declined(invoice) is not None:
            intent = PaymentIntent._api_retrieve(invoice.payment_intent)
            schedule_webhook(Event("payment_intent.payment_failed", intent))
            invoice._on_payment_failure_now()
        return invoice

    def _pay_route(id: str, **kwargs: Any) -> Any:
        invoice = Invoice._api_pay_invoice(id)
        charge = _declined(invoice)
        if charge is not None:
            raise UserError(
                402,
                charge.failure_message,
                {"code": charge.failure_code, "charge": charge.id},
            )
        return invoice

    Invoice._api_pay_invoice = classmethod(_pay)
    for index, (method, url, _func) in enumerate(extra_apis):
        if url == "/v1/invoices/{id}/pay":
            extra_apis[index] = (method, url, _pay_route)

    list_invoices = Invoice._api_list_all.__func__

    def _list_invoices(
        cls: Any,
        url: str,
        status: str | None = None,
        created: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        listing = list_invoices(cls, url, **kwargs)
        if status is not None:
            listing._list = [i for i in listing._list if i.status == status]
        if created:
            since = try_convert_to_int(created.get("gte", 0))
            listing._list = [i for i in listing._list if i.created >= since]
        return listing

    Invoice._api_list_all = classmethod(_list_invoices)
    return _portal_returns


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} (localstripe)</title>
<style>body {{ font: 1.1rem/1.5 system-ui, sans-serif; max-width: 32rem;
margin: 2rem auto; padding: 0 1rem; }} button {{ font: inherit; padding: 0.6rem 1.2rem;
min-height: 44px; }}</style></head>
<body><main><h1>{title}</h1>
<p>A test page served by localstripe on your machine, standing in for Stripe's
own. No real card is charged.</p>{body}</main></body></html>"""


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        text=PAGE.format(title=html.escape(title), body=body),
        content_type="text/html",
    )


def _amount(cents: Any, currency: str) -> str:
    return f"{int(cents) / 100:.2f} {currency.upper()}"


def add_browser_pages(app: web.Application, portal_returns: dict[str, str]) -> None:
    """Checkout and the Customer Portal as pages a browser can click through."""
    from localstripe.errors import UserError
    from localstripe.resources import (
        Customer,
        Event,
        InvoiceItem,
        PaymentIntent,
        PaymentMethod,
        StripeObject,
        Subscription,
        try_convert_to_int,
    )
    from localstripe.webhooks import schedule_webhook

    def session_or_404(request: web.Request) -> Any:
        session_id = request.match_info["id"]
        try:
            found = StripeObject._get_class_for_id(session_id)._api_retrieve(session_id)
        except (UserError, KeyError, AttributeError):
            raise web.HTTPNotFound() from None
        return found

    async def show_checkout(request: web.Request) -> web.Response:
        session = session_or_404(request)
        lines = []
        for item in session.line_items:
            if "price_data" in item:
                data = item["price_data"]
                lines.append(_amount(data["unit_amount"], data["currency"]))
            else:
                price = StripeObject._get_class_for_id(item["price"])._api_retrieve(
                    item["price"]
                )
                lines.append(f"{_amount(price.unit_amount, price.currency)} a month")
        body = (
            f"<p>You pay {html.escape(' and '.join(lines))} with the test card "
            "4242 4242 4242 4242.</p>"
            f'<form method="post"><button type="submit">Pay with the test card'
            f'</button></form><p><a href="{html.escape(session.cancel_url or "")}">'
            "Cancel and go back</a></p>"
        )
        return _page("Test checkout", body)

    async def pay(request: web.Request) -> web.Response:
        session = session_or_404(request)
        if session.status == "complete":
            raise web.HTTPSeeOther(_success_url(session))
        customer = session.customer
        card = PaymentMethod._api_attach(TEST_CARD, customer=customer)
        Customer._api_update(
            customer, invoice_settings={"default_payment_method": card.id}
        )
        if session.mode == "subscription":
            recurring, *one_time = session.line_items
            for item in one_time:
                InvoiceItem._api_create(
                    customer=customer,
                    amount=try_convert_to_int(item["price_data"]["unit_amount"]),
                    currency=item["price_data"]["currency"],
                )
            metadata = (getattr(session, "subscription_data", None) or {}).get(
                "metadata"
            )
            subscription = Subscription._api_create(
                customer=customer,
                items=[{"price": recurring["price"]}],
                metadata=metadata or {},
            )
            session.subscription = subscription.id
        else:
            data = session.line_items[0]["price_data"]
            amount = try_convert_to_int(data["unit_amount"])
            intent = PaymentIntent._api_create(
                amount=amount,
                currency=data["currency"],
                customer=customer,
                payment_method=card.id,
                confirm=True,
                metadata=(getattr(session, "payment_intent_data", None) or {}).get(
                    "metadata"
                )
                or {},
            )
            session.payment_intent = intent.id
            session.amount_total = amount
        session.status = "complete"
        session.payment_status = "paid"
        schedule_webhook(Event("checkout.session.completed", session))
        raise web.HTTPSeeOther(_success_url(session))

    def _success_url(session: Any) -> str:
        return str(session.success_url).replace("{CHECKOUT_SESSION_ID}", session.id)

    async def show_portal(request: web.Request) -> web.Response:
        back = portal_returns.get(request.match_info["id"])
        if back is None:
            raise web.HTTPNotFound()
        body = (
            "<p>Stripe's Customer Portal (update a card, cancel) has no stand-in "
            f'here.</p><p><a href="{html.escape(back)}">Back to the union</a></p>'
        )
        return _page("Test customer portal", body)

    # localstripe asks no key for /_config/ addresses, and a browser sends none.
    app.router.add_get("/_config/checkout/{id}", show_checkout)
    app.router.add_post("/_config/checkout/{id}", pay)
    app.router.add_get("/_config/portal/{id}", show_portal)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook-delay", type=float, default=1.0)
    parser.add_argument(
        "--browser",
        action="store_true",
        help="serve Checkout and Portal pages a browser can click through",
    )
    parser.add_argument("--webhook", help="the app's webhook address, registered now")
    parser.add_argument("--webhook-secret", help="the app's STRIPE_WEBHOOK_SECRET")
    args = parser.parse_args()
    if bool(args.webhook) != bool(args.webhook_secret):
        parser.error("--webhook and --webhook-secret go together")

    if args.webhook_delay != 1.0:
        from localstripe import webhooks

        factor = args.webhook_delay
        webhooks.asyncio = types.SimpleNamespace(
            sleep=lambda seconds: asyncio.sleep(seconds * factor),
            ensure_future=asyncio.ensure_future,
        )
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    if args.browser:
        base = f"http://{args.host}:{args.port}/_config"
        PAGES.update(checkout=f"{base}/checkout", portal=f"{base}/portal")
    portal_returns = apply_shims()
    from localstripe.server import app  # routes are registered at import: shims first
    from localstripe.webhooks import register_webhook

    if args.browser:
        add_browser_pages(app, portal_returns)
    if args.webhook:
        register_webhook("app", args.webhook, args.webhook_secret, None)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
