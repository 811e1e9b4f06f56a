"""Times as the dashboard shows them: in the automation's own time zone (its trigger's
``timezone``), with the UTC time on hover."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo


def _zone(name: str) -> ZoneInfo | None:
    if not name or name in ("UTC", "Etc/UTC"):
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return None


def local(value: datetime, zone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """``value`` in ``zone`` (UTC when the zone is unknown or empty)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    tz = _zone(zone)
    shown = aware.astimezone(tz) if tz is not None else aware.astimezone(UTC)
    return shown.strftime(fmt).strip()


def when(value: datetime | None, zone: str) -> str:
    """A ``<time>`` element: local time as text, the UTC time as its title."""
    if value is None:
        return "—"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return (
        f'<time datetime="{utc.isoformat()}" title="{utc:%Y-%m-%d %H:%M:%S} UTC">'
        f"{escape(local(aware, zone))}</time>"
    )
