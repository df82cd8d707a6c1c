// Flex Consumption (FC1) plan + the Python 3.11 Function App. Every setting of README.md
// "Settings" is an app setting here; the two secrets are Key Vault references resolved with the
// user-assigned identity. Storage is reached by identity only (AzureWebJobsStorage__* and
// STORAGE_ACCOUNT_NAME), never by connection string.
param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
@description('Client id of that identity (AzureWebJobsStorage__clientId, AZURE_CLIENT_ID).')
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerName string

param keyVaultUri string
param applicationInsightsConnectionString string

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

// Settings of README.md "Settings" (empty strings already replaced by defaults in main.bicep).
param msClientId string
param msAuthorityHost string
param msGraphEndpoint string
@description('Public URL of GET /api/outlook/callback; empty: https://<name>.azurewebsites.net/api/outlook/callback.')
param msRedirectUri string = ''
param herpAppUrl string
param herpJwtIssuer string
param herpJwtAudience string
param herpJwtJwksUrl string
param roomRefreshSchedule string
param msNotificationUrl string = ''
param herpWebhookUrl string = ''
@description('MS_CLIENT_CREDENTIAL: federated (the identity below is a federated credential of the app registration), certificate or secret.')
@allowed([
  'federated'
  'certificate'
  'secret'
])
param msClientCredential string = 'federated'
param msClientSecretExpiresAt string = ''
@description('Key Vault certificate (its secret: PEM key + certificate) behind MS_CLIENT_CERTIFICATE.')
param clientCertificateName string = 'ms-client-certificate'

@description('Key Vault secret names behind MS_CLIENT_SECRET and TOKEN_ENCRYPTION_KEYS.')
param clientSecretName string = 'ms-client-secret'
param encryptionKeysSecretName string = 'token-encryption-keys'
@description('Key Vault secret name behind HERP_WEBHOOK_SECRET (read only when HERP_WEBHOOK_URL is set).')
param webhookSecretName string = 'herp-webhook-secret'

var redirectUri = empty(msRedirectUri) ? 'https://${name}.azurewebsites.net/api/outlook/callback' : msRedirectUri
// CORS compares origins: no trailing slash.
var herpOrigin = endsWith(herpAppUrl, '/') ? substring(herpAppUrl, 0, length(herpAppUrl) - 1) : herpAppUrl

var appSettings = {
  // Host storage by identity (blob leases, queue trigger, timer).
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // The app's own table/queue clients: DefaultAzureCredential picks the user-assigned identity
  // through AZURE_CLIENT_ID (shared/storage/tables.py).
  STORAGE_ACCOUNT_NAME: storageAccountName
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  MS_CLIENT_ID: msClientId
  MS_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${clientSecretName}/)'
  // How the app proves itself to Entra (README "Credentials"): only the kind chosen is read.
  MS_CLIENT_CREDENTIAL: msClientCredential
  MS_FEDERATED_IDENTITY_CLIENT_ID: identityClientId
  MS_CLIENT_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${clientCertificateName}/)'
  MS_CLIENT_SECRET_EXPIRES_AT: msClientSecretExpiresAt
  MS_AUTHORITY_HOST: msAuthorityHost
  MS_GRAPH_ENDPOINT: msGraphEndpoint
  MS_REDIRECT_URI: redirectUri
  HERP_APP_URL: herpAppUrl
  HERP_JWT_ISSUER: herpJwtIssuer
  HERP_JWT_AUDIENCE: herpJwtAudience
  HERP_JWT_JWKS_URL: herpJwtJwksUrl
  TOKEN_ENCRYPTION_KEYS: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${encryptionKeysSecretName}/)'
  ROOM_REFRESH_SCHEDULE: roomRefreshSchedule
  // Graph's notificationUrl (and + "/lifecycle"): POST /api/outlook/notifications of this app.
  MS_NOTIFICATION_URL: empty(msNotificationUrl) ? 'https://${name}.azurewebsites.net/api/outlook/notifications' : msNotificationUrl
  HERP_WEBHOOK_URL: herpWebhookUrl
  HERP_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${webhookSecretName}/)'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy is offered in some regions only and bills always-ready instances; requests are idempotent and safe to retry after a zone outage.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // This is a public API: HERP Hire users' browsers call it with a HERP JWT, and Microsoft's
  // sign-in redirects browsers to its callback.
  //checkov:skip=CKV_AZURE_222:Public API by design: browsers of HERP Hire users call it, and the OAuth callback is a browser redirect from Microsoft.
  //checkov:skip=CKV_AZURE_17:Browsers cannot present client certificates; callers authenticate with a HERP-issued JWT checked on every request.
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales instances itself (scale to zero, per-function scaling); there is no fixed instance count to raise.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      // The platform pings GET /api/health (CONTRACT 8: 200 while storage answers) and replaces
      // an instance that keeps failing it.
      healthCheckPath: '/api/health'
      cors: {
        allowedOrigins: empty(herpOrigin) ? [] : [
          herpOrigin
        ]
        supportCredentials: false
      }
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic (user/password) publishing off for FTP and SCM: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
output redirectUri string = redirectUri
