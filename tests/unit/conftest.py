"""Unit tests reach no storage: the audit log every Graph write leaves is kept in memory."""

import pytest

from shared.storage.audit import AuditLog


@pytest.fixture(autouse=True)
def audit_entries(monkeypatch):
    """The audit entries written during the test, in order."""
    entries: list = []
    monkeypatch.setattr(AuditLog, "add", lambda self, entry: entries.append(entry) or entry)
    return entries
