"""Time zone names as Microsoft Graph's Outlook APIs take them (dateTimeTimeZone, Prefer header).

Docs followed:
- api-reference/v1.0/resources/datetimetimezone.md: "timeZone ... can be set to any of the time
  zones currently supported by Windows, as well as the additional time zones supported by the
  calendar API" - a fixed list of IANA names, copied below as `LISTED_IANA`. Any other IANA name
  (America/Vancouver, Asia/Ho_Chi_Minh, Europe/Amsterdam, Etc/UTC...) is refused.
- api-reference/v1.0/api/event-get.md: `Prefer: outlook.timezone="..."` sets the time zone of
  start/end in the response; without it they are in UTC; a `Preference-Applied` header confirms.
- Unknown name: 400 TimeZoneNotSupportedException, "A valid TimeZone value must be specified. The
  following TimeZone value is not supported: '...'." (observed answer quoted in
  microsoftgraph/microsoft-graph-docs issue #4758; "Greenwich Mean Time" is not a Windows id).

Windows ids -> IANA: the CLDR windowsZones.xml "001" (golden) mappings. Instants are computed with
the shipped `tzdata` rules (devtools/emulator/__init__.py), the rules in force in 2026.

The ids Windows added for the 2026 laws (`IDS_OF_KB5124010`) are known only to an Exchange that
took Windows update KB5124010 (September 2026); one without it refuses them like any unknown name
(400 TimeZoneNotSupportedException). The control API (`POST /_emulator/time-zones
{"accept_2026_ids": false}`) plays such an Exchange. Morocco's 2026 change (tzdata 2026e) kept its
id "Morocco Standard Time" (in the list below since Windows had it): nothing new to refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .graph_http import GraphError

UTC = dt.UTC

WINDOWS_TO_IANA = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Chihuahua",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kyiv",
    "Israel Standard Time": "Asia/Jerusalem",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
    # Windows zones newer than the list above, which Exchange Online knows as Windows does:
    # South Sudan (CLDR since 2021), and the Canadian zones Windows added in September 2026 for the
    # 2026 British Columbia/Alberta/Manitoba changes (Microsoft DST blog "Interim guidance for
    # British Columbia time zone changes 2026"; Windows KB5124010; CLDR windowsZones via tzlocal 5.4.5).
    "South Sudan Standard Time": "Africa/Juba",
    "British Columbia Standard Time": "America/Vancouver",
    "Alberta Standard Time": "America/Edmonton",
    "Manitoba Standard Time": "America/Winnipeg",
}
# Windows update KB5124010 (September 2026; Microsoft's DST/time zone blog on the 2026 Canadian changes)
# added these ids; CLDR windowsZones maps America/Vancouver, America/Edmonton (and the Northwest
# Territories' zones) and America/Winnipeg to them (tzlocal 5.4.5).
IDS_OF_KB5124010 = frozenset({"British Columbia Standard Time", "Alberta Standard Time", "Manitoba Standard Time"})
_NEW_2026 = {name.lower() for name in IDS_OF_KB5124010}

# datetimetimezone.md "Additional time zones", in the page's order. Four entries carry a second
# name in parentheses ("Europe/Kyiv (Kiev)", "Asia/Toshkent (Tashkent)", "Asia/Astana (Almaty)",
# "Asia/Yangon (Rangoon)"): both spellings are accepted; the value is the tz database zone used.
LISTED_IANA = {
    name: name
    for name in (
        "Etc/GMT+12",
        "Etc/GMT+11",
        "Pacific/Honolulu",
        "America/Anchorage",
        "America/Santa_Isabel",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/Chihuahua",
        "America/Denver",
        "America/Guatemala",
        "America/Chicago",
        "America/Mexico_City",
        "America/Regina",
        "America/Bogota",
        "America/New_York",
        "America/Indiana/Indianapolis",
        "America/Caracas",
        "America/Asuncion",
        "America/Halifax",
        "America/Cuiaba",
        "America/La_Paz",
        "America/Santiago",
        "America/St_Johns",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
        "America/Cayenne",
        "America/Godthab",
        "America/Montevideo",
        "America/Bahia",
        "Etc/GMT+2",
        "Atlantic/Azores",
        "Atlantic/Cape_Verde",
        "Africa/Casablanca",
        "Etc/GMT",
        "Europe/London",
        "Atlantic/Reykjavik",
        "Europe/Berlin",
        "Europe/Budapest",
        "Europe/Paris",
        "Europe/Warsaw",
        "Africa/Lagos",
        "Africa/Windhoek",
        "Europe/Bucharest",
        "Asia/Beirut",
        "Africa/Cairo",
        "Asia/Damascus",
        "Africa/Johannesburg",
        "Europe/Kyiv",
        "Europe/Istanbul",
        "Asia/Jerusalem",
        "Asia/Amman",
        "Asia/Baghdad",
        "Europe/Kaliningrad",
        "Asia/Riyadh",
        "Africa/Nairobi",
        "Asia/Tehran",
        "Asia/Dubai",
        "Asia/Baku",
        "Europe/Moscow",
        "Indian/Mauritius",
        "Asia/Tbilisi",
        "Asia/Yerevan",
        "Asia/Kabul",
        "Asia/Karachi",
        "Asia/Kolkata",
        "Asia/Colombo",
        "Asia/Kathmandu",
        "Asia/Dhaka",
        "Asia/Yekaterinburg",
        "Asia/Yangon",
        "Asia/Bangkok",
        "Asia/Novosibirsk",
        "Asia/Shanghai",
        "Asia/Krasnoyarsk",
        "Asia/Singapore",
        "Australia/Perth",
        "Asia/Taipei",
        "Asia/Ulaanbaatar",
        "Asia/Irkutsk",
        "Asia/Tokyo",
        "Asia/Seoul",
        "Australia/Adelaide",
        "Australia/Darwin",
        "Australia/Brisbane",
        "Australia/Sydney",
        "Pacific/Port_Moresby",
        "Australia/Hobart",
        "Asia/Yakutsk",
        "Pacific/Guadalcanal",
        "Asia/Vladivostok",
        "Pacific/Auckland",
        "Etc/GMT-12",
        "Pacific/Fiji",
        "Asia/Magadan",
        "Pacific/Tongatapu",
        "Pacific/Apia",
        "Pacific/Kiritimati",
    )
}
LISTED_IANA.update(
    {
        "Europe/Kiev": "Europe/Kyiv",
        "Asia/Toshkent": "Asia/Tashkent",
        "Asia/Tashkent": "Asia/Tashkent",
        "Asia/Astana": "Asia/Almaty",
        "Asia/Almaty": "Asia/Almaty",
        "Asia/Rangoon": "Asia/Yangon",
    }
)
# Names are matched case-insensitively, like the rest of Outlook's API.
_ACCEPTED = {**{k.lower(): v for k, v in LISTED_IANA.items()}, **{k.lower(): v for k, v in WINDOWS_TO_IANA.items()}}
_DT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)(Z|[+-]\d{2}:\d{2})?$")


def not_supported(name) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
    )


def zone(name) -> ZoneInfo:
    """A Windows id or a listed IANA name -> ZoneInfo; anything else -> TimeZoneNotSupportedException."""
    if not isinstance(name, str) or not name.strip():
        raise not_supported(name if isinstance(name, str) else "")
    iana = _ACCEPTED.get(name.strip().lower())
    if iana is None:
        raise not_supported(name)
    try:
        return ZoneInfo("UTC" if iana == "Etc/UTC" else iana)
    except (KeyError, ValueError):  # a target this tz database lacks
        raise not_supported(name) from None


def require_known_to_exchange(accept_2026_ids: bool, *names) -> None:
    """An Exchange without KB5124010 refuses its ids as it refuses any unknown name."""
    if accept_2026_ids:
        return
    for name in names:
        if isinstance(name, str) and name.strip().lower() in _NEW_2026:
            raise not_supported(name)


def parse_local(value, tz_name, field) -> dt.datetime:
    """dateTimeTimeZone -> aware UTC datetime. `dateTime` is local to `timeZone`; a trailing Z or
    offset (Graph tolerates it) wins over the zone for the instant."""
    tz = zone(tz_name)
    m = _DT.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset' for '{field}'.",
        )
    date, clock, offset = m.groups()
    frac = ""
    if "." in clock:
        clock, frac = clock.split(".")
    naive = dt.datetime.fromisoformat(f"{date}T{clock}" + (f".{frac[:6]:0<6}" if frac else ""))
    if offset:
        off = dt.UTC if offset == "Z" else dt.datetime.strptime(offset, "%z").tzinfo
        return naive.replace(tzinfo=off).astimezone(UTC)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def render(instant: dt.datetime, tz_name: str | None) -> dict:
    """UTC instant -> dateTimeTimeZone in the Prefer time zone (as named by the client) or UTC.
    Graph writes seven fractional digits: 2017-04-15T11:00:00.0000000."""
    if tz_name is None:
        local, name = instant.astimezone(UTC), "UTC"
    else:
        local, name = instant.astimezone(zone(tz_name)), tz_name
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0", "timeZone": name}


def iso_z(instant: dt.datetime) -> str:
    """DateTimeOffset values (createdDateTime, responseStatus.time): UTC with Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond:06d}0Z"


_PREFER_TZ = re.compile(r'outlook\.timezone\s*=\s*(?:"([^"]*)"|([^,;\s]+))', re.IGNORECASE)
_PREFER_BODY = re.compile(r'outlook\.body-content-type\s*=\s*(?:"([^"]*)"|([^,;\s]+))', re.IGNORECASE)


def prefer(request, accept_2026_ids: bool = True):
    """(time zone name or None, body content type or None) from the Prefer header(s); an
    unknown time zone is refused like a bad timeZone in a body."""
    raw = ", ".join(request.headers.getlist("Prefer"))
    tz = body = None
    m = _PREFER_TZ.search(raw)
    if m:
        tz = m.group(1) if m.group(1) is not None else m.group(2)
        zone(tz)
        require_known_to_exchange(accept_2026_ids, tz)
    m = _PREFER_BODY.search(raw)
    if m:
        body = (m.group(1) if m.group(1) is not None else m.group(2)).lower()
        body = body if body in ("text", "html") else None
    return tz, body


def preference_applied(tz, body) -> dict:
    parts = ([f'outlook.timezone="{tz}"'] if tz else []) + ([f'outlook.body-content-type="{body}"'] if body else [])
    return {"Preference-Applied": ", ".join(parts)} if parts else {}
