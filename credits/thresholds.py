"""Low-balance thresholds: when a wallet's available balance crossing one is worth telling.

The rules credit-wallet users had to file bugs to get (OpenMeter, Flexprice):

- a threshold is an absolute number of credits, and a wallet may have several;
- `balance.low` once per downward crossing of `available` (balance - held) below it, not on
  every spend while it stays below;
- `balance.recovered` when `available` climbs back to the threshold or above, and only if a
  low alert was sent for that dip;
- at most one of each per threshold per 24 hours: a dip inside the quiet time still moves the
  threshold's state (so the next crossing is judged from where the balance really is) but
  announces nothing.

Each threshold is kept on the wallet row (`Wallet.alerts`) as a small dict, so the posting that
locks and writes the row anyway can judge a crossing in Python, without another read:
`{"threshold", "state": "above"|"below", "alerted": a low was sent for the current dip,
"low_at", "recovered_at": when each was last announced (ISO 8601) or null}`.
"""

from datetime import datetime, timedelta

MAX_THRESHOLDS = 5
MIN_THRESHOLD = 1
MAX_THRESHOLD = 10**9
QUIET = timedelta(hours=24)

LOW = "balance.low"
RECOVERED = "balance.recovered"


def fresh(threshold: int, available: int) -> dict:
    """A new threshold, in the state the balance implies now: setting it announces nothing."""
    return {
        "threshold": threshold,
        "state": "below" if available < threshold else "above",
        "alerted": False,
        "low_at": None,
        "recovered_at": None,
    }


def cross(alerts: list[dict], available: int, now: datetime) -> list[tuple[str, int]]:
    """Move each threshold of `alerts` (in place) to where `available` now stands; the
    (event type, threshold) pairs to announce. Nothing changes while no threshold is crossed,
    which the caller tells from an empty answer and `crossed`."""
    announced = []
    for alert in alerts:
        below = available < alert["threshold"]
        if below == (alert["state"] == "below"):
            continue
        if below:
            alert["state"] = "below"
            alert["alerted"] = _quiet_over(alert["low_at"], now)
            if alert["alerted"]:
                alert["low_at"] = now.isoformat()
                announced.append((LOW, alert["threshold"]))
        else:
            alert["state"] = "above"
            if alert["alerted"] and _quiet_over(alert["recovered_at"], now):
                alert["recovered_at"] = now.isoformat()
                announced.append((RECOVERED, alert["threshold"]))
            alert["alerted"] = False
    return announced


def crossed(alerts: list[dict] | None, available: int) -> bool:
    """Whether `available` stands on the other side of any threshold than its state says."""
    return bool(alerts) and any(
        (available < alert["threshold"]) != (alert["state"] == "below") for alert in alerts
    )


def _quiet_over(last: str | None, now: datetime) -> bool:
    return last is None or now - datetime.fromisoformat(last) >= QUIET
