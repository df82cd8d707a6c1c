#!/usr/bin/env bash
# Creates (or updates) the Entra app registration of the HERP Hire <-> Outlook integration and
# puts its secrets into the deployment's Key Vault. Run it after `azd provision` / `azd up`
# (infra/README.md "Deploy to Azure"); running it again is safe.
#
#   infra/app-registration.sh [--rotate-secret] [--rotate-certificate] [--redirect-uri URI]...
#
# It
#   1. creates a multitenant web app registration (or updates the one named by MS_CLIENT_ID, or
#      the one with the same display name) with MS_REDIRECT_URI as its redirect URI, the delegated
#      Microsoft Graph permissions the service asks for, and groupMembershipClaims "DirectoryRole"
#      (the id token then carries the `wids` the tenant-link flow checks);
#   2. gives the app the credential MS_CLIENT_CREDENTIAL names (default federated):
#      - federated: the Function App's user-assigned managed identity becomes a federated identity
#        credential of the app (issuer https://login.microsoftonline.com/<tenant>/v2.0, subject the
#        identity's object id, audience api://AzureADTokenExchange): no secret exists;
#      - certificate: a self-signed certificate created in Key Vault as `ms-client-certificate`,
#        its public key added to the app (when missing, or with --rotate-certificate);
#      - secret: a client secret stored in Key Vault as `ms-client-secret` (when missing, or with
#        --rotate-secret; the old credential stays valid until removed) and its end date set as
#        MS_CLIENT_SECRET_EXPIRES_AT;
#   3. generates `token-encryption-keys` (one base64url 32-byte key) if that secret is missing;
#   4. prints MS_CLIENT_ID; when azd is installed it also runs `azd env set MS_CLIENT_ID`, and when
#      the Function App is known it sets the app setting (which also makes the app re-read both
#      Key Vault references).
#
# Inputs (environment, else the current azd environment): AZURE_KEY_VAULT_NAME, MS_REDIRECT_URI,
# optional MS_CLIENT_ID, AZURE_FUNCTION_APP_NAME, AZURE_RESOURCE_GROUP, AZURE_ENV_NAME,
# APP_REGISTRATION_NAME (default "HERP Hire Outlook integration (<AZURE_ENV_NAME>)"),
# SECRET_YEARS (client secret / certificate lifetime, default 1), MS_CLIENT_CREDENTIAL
# (federated | certificate | secret, default federated), and for federated AZURE_TENANT_ID and
# AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID (provision outputs).
# Needs: Azure CLI logged in (`az login`) as someone who may create app registrations, with
# Key Vault Secrets Officer on the vault (main.bicep grants it to AZURE_PRINCIPAL_ID), and
# Key Vault Certificates Officer for the certificate credential.
# Plain bash 3.2+ (macOS) and the Azure CLI; no jq.
set -euo pipefail
cd "$(dirname "$0")/.."  # the azd project (azure.yaml), for `azd env`

GRAPH_APP_ID=00000003-0000-0000-c000-000000000000
# shared/identity.py SCOPES + OIDC_SCOPES: what the admin consent grants and every sign-in asks for.
SCOPES=(User.Read Calendars.ReadWrite Place.Read.All openid profile offline_access)
CLIENT_SECRET_NAME=ms-client-secret
CLIENT_CERTIFICATE_NAME=ms-client-certificate
ENCRYPTION_KEYS_NAME=token-encryption-keys
FEDERATED_CREDENTIAL_NAME=function-app-identity
TOKEN_EXCHANGE_AUDIENCE=api://AzureADTokenExchange

rotate_secret=false
rotate_certificate=false
extra_redirect_uris=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rotate-secret) rotate_secret=true; shift ;;
    --rotate-certificate) rotate_certificate=true; shift ;;
    --redirect-uri) extra_redirect_uris+=("${2:?--redirect-uri needs a value}"); shift 2 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_azd=false
if command -v azd >/dev/null 2>&1 && azd env get-values >/dev/null 2>&1; then
  have_azd=true
fi

# value NAME: the environment variable, else the azd environment's value, else empty.
value() {
  local name=$1
  if [[ -n "${!name:-}" ]]; then
    printf '%s' "${!name}"
  elif $have_azd; then
    azd env get-value "$name" 2>/dev/null || true
  fi
}

command -v az >/dev/null 2>&1 || die "Azure CLI (az) is not installed"
az account show --output none 2>/dev/null || die "run 'az login' first"

vault=$(value AZURE_KEY_VAULT_NAME)
redirect_uri=$(value MS_REDIRECT_URI)
client_id=$(value MS_CLIENT_ID)
function_app=$(value AZURE_FUNCTION_APP_NAME)
resource_group=$(value AZURE_RESOURCE_GROUP)
env_name=$(value AZURE_ENV_NAME)
display_name=$(value APP_REGISTRATION_NAME)
display_name=${display_name:-"HERP Hire Outlook integration${env_name:+ ($env_name)}"}
secret_years=$(value SECRET_YEARS)
secret_years=${secret_years:-1}
credential=$(value MS_CLIENT_CREDENTIAL)
credential=${credential:-federated}
tenant_id=$(value AZURE_TENANT_ID)
identity_principal_id=$(value AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID)

[[ -n "$vault" ]] || die "AZURE_KEY_VAULT_NAME is not set (run 'azd provision' first, or export it)"
[[ -n "$redirect_uri" ]] || die "MS_REDIRECT_URI is not set (run 'azd provision' first, or export it)"
[[ "$redirect_uri" == https://* ]] || die "MS_REDIRECT_URI must be https: $redirect_uri"
case "$credential" in
  federated)
    [[ -n "$identity_principal_id" ]] || die "AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID is not set (run 'azd provision' first, or export it)"
    [[ -n "$tenant_id" ]] || tenant_id=$(az account show --query tenantId --output tsv | tr -d '\r')
    ;;
  certificate|secret) ;;
  *) die "MS_CLIENT_CREDENTIAL must be federated, certificate or secret: $credential" ;;
esac

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
umask 077

# --- Key Vault access first: a role assigned by the last provision can take minutes to apply,
# and no client secret should be created that cannot be stored.
secret_names=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if secret_names=$(az keyvault secret list --vault-name "$vault" --query "[].name" --output tsv 2>"$workdir/kv.err"); then
    break
  fi
  [[ $attempt -lt 10 ]] || { cat "$workdir/kv.err" >&2; die "cannot list secrets of Key Vault $vault (Key Vault Secrets Officer needed)"; }
  log "Key Vault $vault not readable yet (role assignment propagating?); retrying in 15 s"
  sleep 15
done
has_secret() { grep -qx "$1" <<<"$secret_names"; }

# --- Delegated Microsoft Graph permissions, ids resolved from the Graph service principal.
az ad sp show --id "$GRAPH_APP_ID" --query "oauth2PermissionScopes[].[value, id]" --output tsv >"$workdir/graph-scopes.tsv"
resource_access=""
for scope in "${SCOPES[@]}"; do
  id=$(awk -F '\t' -v scope="$scope" '$1 == scope { print $2; exit }' "$workdir/graph-scopes.tsv" | tr -d '\r')
  [[ -n "$id" ]] || die "Microsoft Graph has no delegated permission $scope"
  resource_access+="${resource_access:+,}{\"id\":\"$id\",\"type\":\"Scope\"}"
done
printf '[{"resourceAppId":"%s","resourceAccess":[%s]}]' "$GRAPH_APP_ID" "$resource_access" >"$workdir/required-resource-access.json"

# --- The app registration: the one named by MS_CLIENT_ID, else the one with this display name.
if [[ -z "$client_id" ]]; then
  matches=$(az ad app list --display-name "$display_name" --query "[].appId" --output tsv | tr -d '\r')
  if [[ $(printf '%s' "$matches" | grep -c . || true) -gt 1 ]]; then
    die "several app registrations are named '$display_name'; set MS_CLIENT_ID to the one to use"
  fi
  client_id=$matches
fi

redirect_uris=("$redirect_uri" ${extra_redirect_uris[@]+"${extra_redirect_uris[@]}"})
if [[ -z "$client_id" ]]; then
  log "Creating app registration '$display_name'"
  client_id=$(az ad app create \
    --display-name "$display_name" \
    --sign-in-audience AzureADMultipleOrgs \
    --web-redirect-uris "${redirect_uris[@]}" \
    --required-resource-accesses "@$workdir/required-resource-access.json" \
    --query appId --output tsv)
else
  log "Updating app registration $client_id"
  # Keep redirect URIs added by hand (e.g. http://localhost:7071/api/outlook/callback).
  az ad app show --id "$client_id" --query "web.redirectUris[]" --output tsv | tr -d '\r' >>"$workdir/redirect-uris"
  printf '%s\n' "${redirect_uris[@]}" >>"$workdir/redirect-uris"
  redirect_uris=()
  while IFS= read -r uri; do
    redirect_uris+=("$uri")
  done < <(awk 'NF && !seen[$0]++' "$workdir/redirect-uris")
  az ad app update --id "$client_id" \
    --sign-in-audience AzureADMultipleOrgs \
    --web-redirect-uris "${redirect_uris[@]}" \
    --required-resource-accesses "@$workdir/required-resource-access.json"
fi
# The id token carries the user's directory roles (`wids`), which the tenant-link flow checks.
az ad app update --id "$client_id" --set groupMembershipClaims=DirectoryRole

# --- Secrets go to Key Vault through a file, never on a command line.
store_secret() {  # name, file
  az keyvault secret set --vault-name "$vault" --name "$1" --file "$2" --encoding utf-8 --output none
}

app_settings=("MS_CLIENT_ID=$client_id" "MS_CLIENT_CREDENTIAL=$credential")
if [[ "$credential" == federated ]]; then
  # The managed identity's token for api://AzureADTokenExchange is the app's client assertion.
  printf '{"name":"%s","issuer":"https://login.microsoftonline.com/%s/v2.0","subject":"%s","audiences":["%s"],"description":"The Function App user-assigned managed identity (MS_CLIENT_CREDENTIAL=federated)"}' \
    "$FEDERATED_CREDENTIAL_NAME" "$tenant_id" "$identity_principal_id" "$TOKEN_EXCHANGE_AUDIENCE" >"$workdir/federated-credential.json"
  if az ad app federated-credential list --id "$client_id" --query "[].name" --output tsv | tr -d '\r' | grep -qx "$FEDERATED_CREDENTIAL_NAME"; then
    log "Updating federated credential $FEDERATED_CREDENTIAL_NAME (subject $identity_principal_id)"
    az ad app federated-credential update --id "$client_id" --federated-credential-id "$FEDERATED_CREDENTIAL_NAME" \
      --parameters "@$workdir/federated-credential.json" --output none
  else
    log "Adding federated credential $FEDERATED_CREDENTIAL_NAME (subject $identity_principal_id)"
    az ad app federated-credential create --id "$client_id" \
      --parameters "@$workdir/federated-credential.json" --output none
  fi
elif [[ "$credential" == certificate ]]; then
  certificate_names=$(az keyvault certificate list --vault-name "$vault" --query "[].name" --output tsv | tr -d '\r')
  if $rotate_certificate || ! grep -qx "$CLIENT_CERTIFICATE_NAME" <<<"$certificate_names"; then
    # A new version of the Key Vault certificate; the app setting's reference has no version, so
    # the app takes it at its next reference refresh. The old public key stays on the app until removed.
    log "Creating certificate $CLIENT_CERTIFICATE_NAME in Key Vault ($secret_years year(s)) and adding it to the app"
    az ad app credential reset --id "$client_id" --append --create-cert \
      --keyvault "$vault" --cert "$CLIENT_CERTIFICATE_NAME" --years "$secret_years" --output none
  else
    log "Key Vault already holds certificate $CLIENT_CERTIFICATE_NAME (use --rotate-certificate for a new one)"
  fi
elif $rotate_secret || ! has_secret "$CLIENT_SECRET_NAME"; then
  log "Creating a client secret ($secret_years year(s)) and storing it as $CLIENT_SECRET_NAME"
  az ad app credential reset --id "$client_id" --append \
    --display-name "key-vault $(date -u +%Y-%m-%d)" --years "$secret_years" \
    --query password --output tsv | tr -d '\r\n' >"$workdir/client-secret"
  [[ -s "$workdir/client-secret" ]] || die "no client secret was returned"
  store_secret "$CLIENT_SECRET_NAME" "$workdir/client-secret"
  # The newest secret's end date: shown in health and warned about 30 days ahead.
  secret_expires=$(az ad app credential list --id "$client_id" \
    --query "sort_by(@, &endDateTime)[-1].endDateTime" --output tsv | tr -d '\r')
  if [[ -n "$secret_expires" ]]; then
    app_settings+=("MS_CLIENT_SECRET_EXPIRES_AT=$secret_expires")
    if $have_azd; then
      azd env set MS_CLIENT_SECRET_EXPIRES_AT "$secret_expires"
    fi
  fi
else
  log "Key Vault already holds $CLIENT_SECRET_NAME (use --rotate-secret for a new one)"
fi

if ! has_secret "$ENCRYPTION_KEYS_NAME"; then
  log "Generating $ENCRYPTION_KEYS_NAME"
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$workdir/encryption-keys"
  store_secret "$ENCRYPTION_KEYS_NAME" "$workdir/encryption-keys"
else
  log "Key Vault already holds $ENCRYPTION_KEYS_NAME (rotation: see README.md 'Rotating the encryption key')"
fi

if $have_azd; then
  azd env set MS_CLIENT_ID "$client_id"
  azd env set MS_CLIENT_CREDENTIAL "$credential"
fi
if [[ -n "$function_app" && -n "$resource_group" ]]; then
  # A configuration change also makes the app fetch its Key Vault references again.
  az functionapp config appsettings set --name "$function_app" --resource-group "$resource_group" \
    --settings "${app_settings[@]}" --output none
  log "Set ${app_settings[*]%%=*} on $function_app"
fi

log ""
log "MS_CLIENT_ID=$client_id"
log "Keep it for the next provision: azd env set MS_CLIENT_ID $client_id"
printf '%s\n' "$client_id"
