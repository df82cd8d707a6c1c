"""The sandbox console: plays the HERP Hire frontend (HERP_APP_URL) for local development.

`python -m devtools.console --port 7072 [--api http://localhost:7071]`; see README.md here.
"""
