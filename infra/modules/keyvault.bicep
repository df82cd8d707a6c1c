// Key Vault for the two secrets the app reads through Key Vault references:
// `ms-client-secret` (MS_CLIENT_SECRET) and `token-encryption-keys` (TOKEN_ENCRYPTION_KEYS).
// infra/app-registration.sh writes them; nothing here holds a secret value.
param name string
param location string
param tags object = {}

@description('Log Analytics workspace that receives the vault\'s audit log (who read or wrote which secret).')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // Key Vault references are resolved by the App Service platform over the public endpoint
  // unless the app is VNet-integrated (infra/README.md "Network"); access is RBAC only.
  //checkov:skip=CKV_AZURE_109:No VNet in this template; Key Vault references of the Flex Consumption app need the public endpoint. Access is Entra ID RBAC only.
  //checkov:skip=CKV_AZURE_189:Same as CKV_AZURE_109.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Every data-plane access to the secrets (AuditEvent, category group `audit`) goes to Log
// Analytics: Microsoft Learn, "Azure Key Vault logging" and "Supported categories for Azure
// Monitor resource logs" (Microsoft.KeyVault/vaults).
resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
