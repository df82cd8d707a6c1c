"""The service's package. Importing it first makes the shipped `tzdata` rules the only zone rules
(shared/time_zones.py): before any ZoneInfo is built, in the app, the host and the tests.

`zoneinfo` reads PYTHONTZPATH when it is first imported; set empty, no system path is searched.
So a process that has not loaded `zoneinfo` yet (the app's indexing does not need it) gets the
shipped rules without loading it now, and its child processes inherit them. One that has is reset."""

import os
import sys

os.environ["PYTHONTZPATH"] = ""
if "zoneinfo" in sys.modules:
    from shared.time_zones import use_shipped_rules

    use_shipped_rules()
