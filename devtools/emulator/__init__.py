"""Local HTTPS emulator of the Microsoft identity platform (v2.0) and Microsoft Graph (v1.0).

Run: python -m devtools.emulator --port 8443. See README.md in this folder.
"""

import zoneinfo

# Exchange Online computes with the time zone rules in force (the 2026 laws of British Columbia,
# Alberta, Manitoba, the Northwest Territories and Morocco): so does the emulator, with the shipped
# `tzdata` package, never the host's zone database (often older: 2025b puts Vancouver at UTC-8 in
# January 2027). Before any ZoneInfo is built, since ZoneInfo caches by key.
zoneinfo.reset_tzpath(to=[])
zoneinfo.ZoneInfo.clear_cache()
