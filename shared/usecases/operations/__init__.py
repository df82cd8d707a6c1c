"""Operating the service (CONTRACT 8): health, the audit log, retention, a company's data deletion."""
