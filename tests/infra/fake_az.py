"""A stand-in for the Azure CLI (`az`) for tests/infra/test_app_registration.py.

Logs every call (argv, and the content of every file passed as `@path` or `--file path`) as JSON
lines to $FAKE_AZ_LOG and answers like az would for the calls infra/app-registration.sh makes.
State comes from the environment: FAKE_AZ_SECRETS (comma-separated secret names in the vault),
FAKE_AZ_APPS (app ids `az ad app list` finds), FAKE_AZ_REDIRECTS (redirect URIs of that app),
FAKE_AZ_FEDERATED (federated credential names of the app), FAKE_AZ_CERTIFICATES (certificate names
in the vault).
"""

import json
import os
import sys

APP_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "s3cr3t~fake-client-secret-value"
SECRET_END = "2027-12-06T10:00:00+00:00"
GRAPH_SCOPES = {  # value -> id, as the Graph service principal lists them (plus one we do not ask for)
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "Calendars.ReadWrite": "1ec239c2-d7c9-4623-a91a-a9775856bb36",
    "MailboxSettings.Read": "87f447af-9fa4-4c32-9dfa-4a57a73d18ce",
    "Place.Read.All": "cb8f45a0-5c2e-4ea1-b803-84b870a7d7ec",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "Mail.Read": "570282fd-fa5c-430d-a7fd-fc8dc98a9dca",
}


def _files(argv):
    files = {}
    for i, arg in enumerate(argv):
        path = None
        if arg.startswith("@"):
            path = arg[1:]
        elif arg == "--file" and i + 1 < len(argv):
            path = argv[i + 1]
        if path and os.path.exists(path):
            with open(path) as f:
                files[path] = f.read()
    return files


def _lines(name):
    return [v for v in os.environ.get(name, "").replace(",", "\n").splitlines() if v]


def main(argv):
    with open(os.environ["FAKE_AZ_LOG"], "a") as log:
        log.write(json.dumps({"argv": argv, "files": _files(argv)}) + "\n")
    command = tuple(a for a in argv[:4] if not a.startswith("-"))
    if command[:2] == ("account", "show"):
        return 0
    if command[:3] == ("keyvault", "secret", "list"):
        print("\n".join(_lines("FAKE_AZ_SECRETS")))
        return 0
    if command[:3] == ("keyvault", "secret", "set"):
        return 0
    if command[:3] == ("ad", "sp", "show"):
        print("\n".join(f"{value}\t{id_}" for value, id_ in GRAPH_SCOPES.items()))
        return 0
    if command[:3] == ("ad", "app", "list"):
        print("\n".join(_lines("FAKE_AZ_APPS")))
        return 0
    if command[:3] == ("ad", "app", "create"):
        print(APP_ID)
        return 0
    if command[:3] == ("ad", "app", "show"):
        print("\n".join(_lines("FAKE_AZ_REDIRECTS")))
        return 0
    if command[:3] == ("ad", "app", "update"):
        return 0
    if command[:4] == ("ad", "app", "credential", "reset"):
        if "--create-cert" not in argv:
            print(CLIENT_SECRET)
        return 0
    if command[:4] == ("ad", "app", "credential", "list"):
        print(SECRET_END)
        return 0
    if command[:4] == ("ad", "app", "federated-credential", "list"):
        print("\n".join(_lines("FAKE_AZ_FEDERATED")))
        return 0
    if command[:3] == ("ad", "app", "federated-credential") and command[3:4] in (("create",), ("update",)):
        return 0
    if command[:3] == ("keyvault", "certificate", "list"):
        print("\n".join(_lines("FAKE_AZ_CERTIFICATES")))
        return 0
    if command[:4] == ("functionapp", "config", "appsettings", "set"):
        return 0
    print(f"fake az: unexpected call {argv}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
