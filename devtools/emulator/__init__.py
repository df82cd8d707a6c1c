"""Local HTTPS emulator of the Microsoft identity platform (v2.0) and Microsoft Graph (v1.0).

Run: python -m devtools.emulator --port 8443. See README.md in this folder.
"""
