// The storage account of the app: Functions host storage (AzureWebJobsStorage), the Flex
// Consumption deployment container, the tables of docs/architecture.md "Storage" and the room-sync queues.
// Identity only: shared keys are off, so no connection string exists that could leak.
param name string
param location string
param tags object = {}

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
@description('Replication. Geo-redundant by default: the tables hold the only copy of the linked Microsoft credentials.')
param skuName string = 'Standard_GRS'

@description('Blob container that Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Tables the app uses (shared/storage/tables.py).')
param tableNames array

@description('Queues the app uses, with their poison queues.')
param queueNames array

@description('Log Analytics workspace that receives the table and queue audit logs.')
param logAnalyticsWorkspaceId string

@description('Days that deleted blobs and containers are kept.')
param deleteRetentionDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // No VNet in this template (infra/README.md "Network"): Flex Consumption reaches storage over
  // its public endpoint, and every request needs an Entra ID token (shared keys are off).
  //checkov:skip=CKV_AZURE_35:No VNet in this template; the public endpoint accepts Entra ID only (allowSharedKeyAccess false). Private endpoints come with VNet integration.
  //checkov:skip=CKV_AZURE_59:Same as CKV_AZURE_35: public endpoint, identity-only access, no anonymous blob access.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

// Audit logs of the tables (the sealed Microsoft credentials live there) and the queues go to
// Log Analytics (category group `audit`: writes and deletes, with the caller's identity):
// Microsoft Learn, "Monitor Azure Table Storage" / "Monitor Azure Queue Storage" and
// "Supported categories for Azure Monitor resource logs" (storageAccounts/tableServices, queueServices).
resource tableAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: tableService
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

resource queueAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: queueService
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

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
