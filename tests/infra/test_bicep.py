"""infra/*.bicep: every file parses (pycep), and the template says what the service needs.

The trees come from pycep (tests/infra/parse_bicep.py in .venv-tools); the names the app uses
come from the code itself, so a new table, queue or setting in the code fails here until infra/
declares it too.
"""

from __future__ import annotations

import json
import re

from shared import settings as settings_module
from shared.storage import (
    changes,
    event_ids,
    events,
    holds,
    link_completions,
    microsoft_accounts,
    oauth_states,
    queues,
    rooms,
    subscriptions,
    tenant_links,
    user_links,
)
from tests.infra.conftest import INFRA, ROOT, tree

MODULES = ["alerts", "functionapp", "identity", "keyvault", "monitoring", "rbac", "storage"]

ROLE_IDS = {
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# Settings the Flex Consumption plan rejects (the runtime lives in functionAppConfig) or that
# would bring back a storage key.
FORBIDDEN_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "AzureWebJobsStorage",
    "HERP_JWT_SECRET",
}


def contract_settings() -> set[str]:
    """README.md "Settings" as shared/settings.py reads it, less the local-only ones."""
    names = set(settings_module._ENV_NAMES.values()) | {
        "MS_AUTHORITY_HOST",
        "MS_GRAPH_ENDPOINT",
        "ROOM_REFRESH_SCHEDULE",
    }
    # AzureWebJobsStorage is replaced by the identity-based AzureWebJobsStorage__* settings;
    # HERP_JWT_SECRET is the local HS256 secret (production verifies with HERP_JWT_JWKS_URL).
    return names - {"AzureWebJobsStorage", "HERP_JWT_SECRET"}


def role_name(expression) -> str:
    """`roles.x` as pycep gives it -> 'x'."""
    operands = expression["operator"]["operands"]
    assert operands["operand_1"] == "roles", expression
    return operands["operand_2"]


def resource(module: dict, name: str) -> dict:
    return module["resources"][name]


def properties(module: dict, name: str) -> dict:
    return resource(module, name)["config"]["properties"]


def test_every_bicep_file_parses(parsed, bicep_files):
    expected = {p.relative_to(ROOT).as_posix() for p in bicep_files}
    assert set(parsed["bicep"]) == expected
    errors = {path: entry["error"] for path, entry in parsed["bicep"].items() if "error" in entry}
    assert errors == {}
    assert {f"infra/modules/{m}.bicep" for m in MODULES} | {"infra/main.bicep"} <= expected


def test_main_uses_only_local_modules(parsed):
    main = tree(parsed, "infra/main.bicep")
    assert main["globals"]["scope"]["value"] == "subscription"
    modules = main["modules"]
    assert {m["type"] for m in modules.values()} == {"local"}
    for module in modules.values():
        assert (INFRA / module["detail"]["path"]).is_file(), module["detail"]
    assert {module["detail"]["path"] for module in modules.values()} == {f"modules/{m}.bicep" for m in MODULES}


def test_tables_and_queues_are_the_ones_the_code_uses(parsed):
    main = tree(parsed, "infra/main.bicep")
    code_tables = [
        m.TABLE
        for m in (
            tenant_links,
            microsoft_accounts,
            user_links,
            rooms,
            events,
            oauth_states,
            link_completions,
            subscriptions,
            event_ids,
            changes,
            holds,
        )
    ]
    assert main["variables"]["tableNames"]["value"] == code_tables
    triggered = [queues.ROOM_SYNC, queues.NOTIFICATIONS, queues.SUBSCRIPTIONS, queues.CREDENTIALS, queues.WEBHOOKS]
    assert main["variables"]["queueNames"]["value"] == [
        *(name for q in triggered for name in (q, f"{q}-poison")),
        queues.WEBHOOKS_DEAD,
    ]
    storage_params = main["modules"]["storage"]["config"]["params"]
    assert storage_params["tableNames"] == "tableNames" and storage_params["queueNames"] == "queueNames"

    storage = tree(parsed, "infra/modules/storage.bicep")
    tables_resource = resource(storage, "tables")
    assert tables_resource["type"] == "Microsoft.Storage/storageAccounts/tableServices/tables"
    assert tables_resource["config"]["loop_type"]["detail"]["array_name"] == "tableNames"
    queues_resource = resource(storage, "queues")
    assert queues_resource["type"] == "Microsoft.Storage/storageAccounts/queueServices/queues"
    assert queues_resource["config"]["loop_type"]["detail"]["array_name"] == "queueNames"
    container = resource(storage, "deploymentContainer")
    assert container["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert container["config"]["properties"]["publicAccess"] == "None"


def test_storage_account_takes_identities_only(parsed):
    storage = tree(parsed, "infra/modules/storage.bicep")
    props = properties(storage, "account")
    assert props["allowSharedKeyAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_function_app_runs_on_flex_consumption_python_311(parsed):
    app = tree(parsed, "infra/modules/functionapp.bicep")
    plan = resource(app, "plan")["config"]
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True

    site = resource(app, "site")["config"]
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    props = site["properties"]
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["type"] == "blobContainer"
    assert config["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert set(config["scaleAndConcurrency"]) >= {"instanceMemoryMB", "maximumInstanceCount"}
    assert props["httpsOnly"] is True
    assert props["keyVaultReferenceIdentity"] == "identityId"
    site_config = props["siteConfig"]
    assert site_config["ftpsState"] == "Disabled"
    assert site_config["minTlsVersion"] == "1.2"
    assert site_config["remoteDebuggingEnabled"] is False
    # CORS: the HERP frontend's origin and nothing else.
    origins = site_config["cors"]["allowedOrigins"]["operator"]["operands"]
    assert origins["true_value"] == [] and origins["false_value"] == ["herpOrigin"]
    assert "'*'" not in json.dumps(site_config["cors"]) and '"*"' not in json.dumps(site_config["cors"])
    assert site_config["appSettings"]["loop_type"]["detail"]["object_name"] == "appSettings"

    for policy in ("ftpPublishing", "scmPublishing"):
        publishing = resource(app, policy)
        assert publishing["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
        assert publishing["config"]["properties"]["allow"] is False
    assert {resource(app, p)["config"]["name"] for p in ("ftpPublishing", "scmPublishing")} == {"ftp", "scm"}
    # azd finds the app to deploy `api` to by this tag.
    assert resource(app, "site")["config"]["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "api"}


def test_app_settings_cover_the_contract_by_identity(parsed):
    app = tree(parsed, "infra/modules/functionapp.bicep")
    settings = app["variables"]["appSettings"]["value"]
    missing = contract_settings() - set(settings)
    assert not missing, f"settings of README.md (Settings) missing from infra/modules/functionapp.bicep: {missing}"
    assert not FORBIDDEN_SETTINGS & set(settings)

    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AzureWebJobsStorage__queueServiceUri"] == "storageQueueEndpoint"
    assert settings["AzureWebJobsStorage__tableServiceUri"] == "storageTableEndpoint"
    assert settings["STORAGE_ACCOUNT_NAME"] == "storageAccountName"
    # DefaultAzureCredential (shared/storage/connection.py) picks the user-assigned identity by this.
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    for secret, name_param in (
        ("MS_CLIENT_SECRET", "clientSecretName"),
        ("TOKEN_ENCRYPTION_KEYS", "encryptionKeysSecretName"),
    ):
        assert settings[secret] == f"@Microsoft.KeyVault(SecretUri=${{keyVaultUri}}secrets/${{{name_param}}}/)"
    assert app["parameters"]["clientSecretName"]["default"] == "ms-client-secret"
    assert app["parameters"]["encryptionKeysSecretName"]["default"] == "token-encryption-keys"
    assert not any(
        re.search(r"AccountKey=|SharedAccessSignature=|InstrumentationKey=", str(v)) for v in settings.values()
    )

    main = tree(parsed, "infra/main.bicep")
    defaults = {name: p.get("default") for name, p in main["parameters"].items()}
    assert defaults["msAuthorityHost"] == settings_module.DEFAULT_AUTHORITY_HOST
    assert defaults["msGraphEndpoint"] == settings_module.DEFAULT_GRAPH_ENDPOINT
    assert defaults["roomRefreshSchedule"] == settings_module.DEFAULT_ROOM_REFRESH_SCHEDULE
    redirect = app["variables"]["redirectUri"]["value"]["operator"]["operands"]["true_value"]
    assert redirect == "https://${name}.azurewebsites.net/api/outlook/callback"


def test_role_assignments(parsed):
    rbac = tree(parsed, "infra/modules/rbac.bicep")
    roles = rbac["variables"]["roles"]["value"]
    assert set(ROLE_IDS.values()) <= set(roles.values())
    role_key = {v: k for k, v in roles.items()}
    storage_roles = {
        role_key[ROLE_IDS[r]]
        for r in ("Storage Table Data Contributor", "Storage Queue Data Contributor", "Storage Blob Data Owner")
    }
    assert {role_name(r) for r in rbac["variables"]["storageDataRoles"]["value"]} == storage_roles

    assignments = {
        name: r for name, r in rbac["resources"].items() if r["type"] == "Microsoft.Authorization/roleAssignments"
    }
    granted = {}
    for name, assignment in assignments.items():
        body = assignment["config"]
        looped = "loop_type" in body
        inner = body["config"] if looped or "condition" in body else body  # loops and `if` nest the body
        # guid(scope, principal, role): stable names, so re-provisioning updates nothing.
        assert inner["name"]["function"]["type"] == "guid", name
        principal = inner["properties"]["principalId"]
        role = inner["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        if looped:
            assert body["loop_type"]["detail"]["array_name"] == "storageDataRoles" and role == "roleId", name
        granted.setdefault(principal, set()).update(storage_roles if looped else {role_name(role)})
        if principal == "developerPrincipalId":
            # Only when principalId is given: if (!empty(developerPrincipalId)).
            condition = body["condition"]["operator"]
            assert condition["type"] == "not", name
            assert (
                condition["operands"]["bool_value"]["function"]["parameters"]["item_to_test"] == "developerPrincipalId"
            )
    app_roles = {role_key[ROLE_IDS[r]] for r in ROLE_IDS}
    assert granted["appPrincipalId"] == app_roles
    assert granted["developerPrincipalId"] >= storage_roles
    main = tree(parsed, "infra/main.bicep")
    # Least privilege: the developer's standing data roles are opt-in (dev environments only).
    assert main["modules"]["rbac"]["config"]["params"]["developerPrincipalId"] == {
        "operator": {
            "type": "conditional",
            "operands": {"condition": "grantDeveloperDataAccess", "true_value": "principalId", "false_value": ""},
        }
    }
    assert main["parameters"]["grantDeveloperDataAccess"]["type"] == "bool"
    assert main["parameters"]["grantDeveloperDataAccess"]["default"] is False


def test_no_developer_data_roles_unless_opted_in(parsed):
    """By default (production) only the app's identity holds data-plane roles on storage and
    Key Vault: azd's AZURE_PRINCIPAL_ID alone grants nothing."""
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["grantDeveloperDataAccess"]["value"] == "${GRANT_DEVELOPER_DATA_ACCESS=false}"
    main = tree(parsed, "infra/main.bicep")
    rbac = main["modules"]["rbac"]["config"]["params"]
    assert rbac["developerPrincipalId"]["operator"]["operands"]["false_value"] == ""
    assert main["parameters"]["grantDeveloperDataAccess"]["default"] is False


def diagnostic_settings(module: dict) -> dict:
    return {
        r["config"]["scope"]: r["config"]
        for r in module["resources"].values()
        if r["type"] == "Microsoft.Insights/diagnosticSettings"
    }


def test_key_vault_and_storage_audit_logs_go_to_log_analytics(parsed):
    main = tree(parsed, "infra/main.bicep")
    workspace = {
        "operator": {
            "type": "property_accessor",
            "operands": {
                "operand_1": "monitoring",
                "operand_2": {
                    "operator": {
                        "type": "property_accessor",
                        "operands": {"operand_1": "outputs", "operand_2": "workspaceId"},
                    }
                },
            },
        }
    }
    for module, scopes in (("keyVault", {"vault"}), ("storage", {"tableService", "queueService"})):
        assert main["modules"][module]["config"]["params"]["logAnalyticsWorkspaceId"] == workspace, module
        settings = diagnostic_settings(tree(parsed, f"infra/modules/{module.lower()}.bicep"))
        assert set(settings) == scopes, module
        for scope, setting in settings.items():
            assert setting["properties"]["workspaceId"] == "logAnalyticsWorkspaceId", scope
            groups = {log.get("categoryGroup") for log in setting["properties"]["logs"] if log["enabled"] is True}
            assert "audit" in groups or "allLogs" in groups, scope


def test_key_vault_and_monitoring(parsed):
    vault = properties(tree(parsed, "infra/modules/keyvault.bicep"), "vault")
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert vault["enablePurgeProtection"] is True
    monitoring = tree(parsed, "infra/modules/monitoring.bicep")
    insights = properties(monitoring, "applicationInsights")
    assert insights["DisableLocalAuth"] is True
    assert insights["WorkspaceResourceId"]["operator"]["operands"]["operand_1"] == "workspace"


def test_outputs_for_azd(parsed):
    outputs = tree(parsed, "infra/main.bicep")["outputs"]
    assert {
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
        "SERVICE_API_NAME",
        "SERVICE_API_URI",
        "AZURE_KEY_VAULT_NAME",
        "STORAGE_ACCOUNT_NAME",
        "MS_REDIRECT_URI",
    } <= set(outputs)


def test_parameters_file_maps_azd_environment(parsed):
    main = tree(parsed, "infra/main.bicep")
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(parameters) <= set(main["parameters"])
    values = {name: p["value"] for name, p in parameters.items()}
    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["location"] == "${AZURE_LOCATION=japaneast}"  # Japan East unless AZURE_LOCATION says otherwise
    assert values["principalId"] == "${AZURE_PRINCIPAL_ID}"
    # Every setting parameter can be set with `azd env set`.
    setting_params = {
        "msClientId",
        "msAuthorityHost",
        "msGraphEndpoint",
        "msRedirectUri",
        "herpAppUrl",
        "herpJwtIssuer",
        "herpJwtAudience",
        "herpJwtJwksUrl",
        "roomRefreshSchedule",
    }
    assert setting_params <= set(values)
    assert all(re.fullmatch(r"\$\{[A-Z_]+\}", values[p]) for p in setting_params)


def test_azure_yaml(parsed):
    azure_yaml = parsed["azure_yaml"]
    assert azure_yaml, "azure.yaml is missing"
    assert azure_yaml["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert azure_yaml.get("infra", {}).get("path", "infra") == "infra"


def test_region_defaults_to_japan_east(parsed):
    main = tree(parsed, "infra/main.bicep")
    assert main["parameters"]["location"]["default"] == "japaneast"


def test_credential_is_federated_by_default_and_each_kind_is_wired(parsed):
    main = tree(parsed, "infra/main.bicep")
    credential = main["parameters"]["msClientCredential"]
    assert credential["default"] == "federated"
    app = tree(parsed, "infra/modules/functionapp.bicep")
    settings = app["variables"]["appSettings"]["value"]
    assert settings["MS_CLIENT_CREDENTIAL"] == "msClientCredential"
    # Federated: the app's own user-assigned identity signs the client assertion.
    assert settings["MS_FEDERATED_IDENTITY_CLIENT_ID"] == "identityClientId"
    assert (
        settings["MS_CLIENT_CERTIFICATE"]
        == "@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${clientCertificateName}/)"
    )
    assert app["parameters"]["clientCertificateName"]["default"] == "ms-client-certificate"
    outputs = main["outputs"]
    assert {"AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID", "AZURE_TENANT_ID", "MS_CLIENT_CREDENTIAL"} <= set(outputs)
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["msClientCredential"]["value"] == "${MS_CLIENT_CREDENTIAL}"


def test_platform_health_check_is_the_health_route(parsed):
    site = properties(tree(parsed, "infra/modules/functionapp.bicep"), "site")
    assert site["siteConfig"]["healthCheckPath"] == "/api/health"


def test_alerts(parsed):
    alerts = tree(parsed, "infra/modules/alerts.bicep")
    rules = {r["name"]: r for r in alerts["variables"]["rules"]["value"]}
    assert set(rules) == {"poison-queue-not-empty", "webhook-dead-letters", "server-errors", "change-feed-lag"}
    text = json.dumps(rules) + json.dumps(alerts["variables"]["queueDepth"])
    # The metric names the code emits (shared/telemetry.py) and the queues it watches.
    from shared import telemetry

    assert telemetry.QUEUE_DEPTH in text and telemetry.FEED_LAG in text
    assert queues.WEBHOOKS_DEAD in text and all(f"{q}-poison" in queues.WATCHED_QUEUES for q in queues.TRIGGER_QUEUES)
    assert alerts["parameters"]["feedLagSeconds"]["default"] == 60
    rule = alerts["resources"]["alerts"]
    assert rule["type"] == "Microsoft.Insights/scheduledQueryRules"
    main = tree(parsed, "infra/main.bicep")
    assert main["modules"]["alerts"]["config"]["params"]["applicationInsightsName"]
