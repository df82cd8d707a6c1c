// Azure deployment of the HERP Hire <-> Outlook integration (azd: azure.yaml at the repo root).
// One resource group: storage (tables, queues, deployment container), a Flex Consumption
// Python 3.11 Function App running as a user-assigned identity, Key Vault for the two secrets,
// Log Analytics + Application Insights, and the role assignments between them.
// See infra/README.md for the order of `azd up` and infra/app-registration.sh.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; it names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource (default Japan East); another: `azd env set AZURE_LOCATION <region>` before `azd up`. It must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string = 'japaneast'

@description('Object id of the deploying developer (azd passes AZURE_PRINCIPAL_ID); empty: no developer roles.')
param principalId string = ''

@description('Type of principalId: User for a person, ServicePrincipal for a CI identity.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Dev environments only: give principalId standing data roles (storage tables, queues and blobs; Key Vault Secrets Officer). Off by default: in production nobody but the app\'s identity holds a data role.')
param grantDeveloperDataAccess bool = false

// Optional name overrides; empty: derived from the environment.
param resourceGroupName string = ''
param functionAppName string = ''
param storageAccountName string = ''
param keyVaultName string = ''

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_GRS'

@description('Memory of each instance (Flex Consumption sizes).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// Settings of README.md "Settings". azd turns an unset environment variable into '', so an
// empty value means "the default" here.
@description('MS_CLIENT_ID: application (client) id of the Entra app registration (infra/app-registration.sh prints it).')
param msClientId string = ''
@description('MS_AUTHORITY_HOST: identity platform base.')
param msAuthorityHost string = 'https://login.microsoftonline.com'
@description('MS_GRAPH_ENDPOINT: Microsoft Graph base including the version.')
param msGraphEndpoint string = 'https://graph.microsoft.com/v1.0'
@description('MS_REDIRECT_URI: public URL of GET /api/outlook/callback; empty: https://<function app>.azurewebsites.net/api/outlook/callback.')
param msRedirectUri string = ''
@description('HERP_APP_URL: HERP Hire frontend base (an origin, e.g. https://hire.example.com); also the only CORS origin.')
param herpAppUrl string = ''
@description('HERP_JWT_ISSUER: expected iss of caller tokens.')
param herpJwtIssuer string = ''
@description('HERP_JWT_AUDIENCE: expected aud of caller tokens.')
param herpJwtAudience string = 'herp-outlook-integration'
@description('HERP_JWT_JWKS_URL: JWKS URL of HERP\'s RS256/ES256 signing keys.')
param herpJwtJwksUrl string = ''
@description('ROOM_REFRESH_SCHEDULE: NCRONTAB of the room refresh timer.')
param roomRefreshSchedule string = '0 0 */6 * * *'
@description('MS_NOTIFICATION_URL: public URL of POST /api/outlook/notifications given to Graph; empty: https://<function app>.azurewebsites.net/api/outlook/notifications.')
param msNotificationUrl string = ''
@description('MS_CLIENT_CREDENTIAL: federated (default: the Function App\'s managed identity, no secret), certificate (Key Vault certificate ms-client-certificate) or secret (Key Vault secret ms-client-secret).')
@allowed([
  ''
  'federated'
  'certificate'
  'secret'
])
param msClientCredential string = 'federated'
@description('MS_CLIENT_SECRET_EXPIRES_AT: end date of the client secret (app-registration.sh sets it); shown in health, warned 30 days ahead.')
param msClientSecretExpiresAt string = ''
@description('Mailed when an alert fires (infra/modules/alerts.bicep); empty: alerts show in the portal only.')
param alertEmail string = ''
@description('HERP_WEBHOOK_URL: where changes from Outlook are POSTed to HERP (its secret: Key Vault secret herp-webhook-secret); empty: the feed only.')
param herpWebhookUrl string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var appName = empty(functionAppName) ? 'func-api-${resourceToken}' : functionAppName
// Flex Consumption pulls the app package from this container.
var deploymentContainerName = 'app-package-${toLower(take(appName, 32))}-${take(toLower(uniqueString(appName, resourceToken)), 7)}'

// The tables of docs/architecture.md "Storage", named as in shared/storage/tables.py.
var tableNames = [
  'TenantLinks'
  'MicrosoftAccounts'
  'UserLinks'
  'Rooms'
  'Events'
  'OAuthStates'
  'LinkCompletions'
  'Subscriptions'
  'EventIds'
  'Changes'
  'Holds'
]
// shared/storage/queues.py, each with the poison queue the host moves failed messages to, and
// the dead letters of the webhook (no trigger).
var queueNames = [
  'room-sync'
  'room-sync-poison'
  'outlook-notifications'
  'outlook-notifications-poison'
  'outlook-subscriptions'
  'outlook-subscriptions-poison'
  'credential-refresh'
  'credential-refresh-poison'
  'herp-webhooks'
  'herp-webhooks-poison'
  'herp-webhooks-dead'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: empty(storageAccountName) ? 'st${resourceToken}' : storageAccountName
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    tableNames: tableNames
    queueNames: queueNames
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: empty(keyVaultName) ? 'kv-${resourceToken}' : keyVaultName
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: grantDeveloperDataAccess ? principalId : ''
    developerPrincipalType: principalType
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  // The app starts with its roles in place (storage leases, Key Vault references).
  dependsOn: [
    rbac
  ]
  params: {
    name: appName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    msClientId: msClientId
    msAuthorityHost: empty(msAuthorityHost) ? 'https://login.microsoftonline.com' : msAuthorityHost
    msGraphEndpoint: empty(msGraphEndpoint) ? 'https://graph.microsoft.com/v1.0' : msGraphEndpoint
    msRedirectUri: msRedirectUri
    herpAppUrl: herpAppUrl
    herpJwtIssuer: herpJwtIssuer
    herpJwtAudience: empty(herpJwtAudience) ? 'herp-outlook-integration' : herpJwtAudience
    herpJwtJwksUrl: herpJwtJwksUrl
    roomRefreshSchedule: empty(roomRefreshSchedule) ? '0 0 */6 * * *' : roomRefreshSchedule
    msNotificationUrl: msNotificationUrl
    herpWebhookUrl: herpWebhookUrl
    msClientCredential: empty(msClientCredential) ? 'federated' : msClientCredential
    msClientSecretExpiresAt: msClientSecretExpiresAt
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
  }
}

// Outputs land in the azd environment (.azure/<env>/.env); app-registration.sh reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output SERVICE_API_ENDPOINTS array = [
  '${functionApp.outputs.uri}/api'
]
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
// app-registration.sh makes this identity a federated credential of the app registration.
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output MS_CLIENT_CREDENTIAL string = empty(msClientCredential) ? 'federated' : msClientCredential
output MS_REDIRECT_URI string = functionApp.outputs.redirectUri
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
