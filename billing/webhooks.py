"""Stripe events, received through dj-stripe's signed webhook view, handed to billing's services.

dj-stripe verifies the signature and stores the event; each receiver runs inside the same
database transaction, so a failure rolls everything back and Stripe's retry starts clean.
"""

from djstripe.event_handlers import djstripe_receiver

from billing.models import Purchase
from billing.services import checkout_events, money_back, subscription_events


def _object(event) -> dict:
    return event.data["object"]


@djstripe_receiver(["checkout.session.completed", "checkout.session.async_payment_succeeded"])
def on_checkout_completed(sender, event, **kwargs):
    checkout_events.checkout_completed(
        session=_object(event), event_id=event.id, event_type=event.type
    )


@djstripe_receiver("checkout.session.async_payment_failed")
def on_checkout_payment_failed(sender, event, **kwargs):
    checkout_events.checkout_not_paid(session=_object(event), status=Purchase.Status.FAILED)


@djstripe_receiver("checkout.session.expired")
def on_checkout_expired(sender, event, **kwargs):
    checkout_events.checkout_not_paid(session=_object(event), status=Purchase.Status.EXPIRED)


@djstripe_receiver("invoice.paid")
def on_invoice_paid(sender, event, **kwargs):
    subscription_events.invoice_paid(
        invoice=_object(event), event_id=event.id, event_type=event.type
    )


@djstripe_receiver("invoice_payment.paid")
def on_invoice_payment_paid(sender, event, **kwargs):
    subscription_events.invoice_payment_paid(
        invoice_payment=_object(event), event_id=event.id, event_type=event.type
    )


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
)
def on_subscription_changed(sender, event, **kwargs):
    subscription_events.subscription_changed(
        subscription=_object(event),
        event_created=event.created,
        event_id=event.id,
        event_type=event.type,
    )


@djstripe_receiver("charge.refunded")
def on_charge_refunded(sender, event, **kwargs):
    money_back.charge_refunded(charge=_object(event), event_id=event.id, event_type=event.type)


@djstripe_receiver("charge.dispute.created")
def on_dispute_created(sender, event, **kwargs):
    money_back.dispute_opened(dispute=_object(event), event_id=event.id, event_type=event.type)


@djstripe_receiver("charge.dispute.closed")
def on_dispute_closed(sender, event, **kwargs):
    money_back.dispute_closed(dispute=_object(event), event_id=event.id, event_type=event.type)
