"""The service's package. Importing it first makes the shipped `tzdata` rules the only zone rules
(shared/time_zones.py): before any ZoneInfo is built, in the app, the host and the tests."""

from shared.time_zones import use_shipped_rules

use_shipped_rules()
