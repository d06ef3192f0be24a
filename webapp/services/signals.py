"""Signals the services send so other parts can react without the services knowing them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent (after commit) with ``user_ids=[...]`` when users lose access: deactivated,
#: deleted, or their password changed (which ends their other sessions).
access_revoked = _signals.signal("access-revoked")
