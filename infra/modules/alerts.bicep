// Alerts on Application Insights (log search alerts over the telemetry of shared/telemetry.py):
//   - a poison queue is not empty (a message failed every retry: `outlook.queue.depth`, queue *-poison);
//   - the HERP webhook has dead letters (deliveries given up after 24 h: queue herp-webhooks-dead);
//   - 5xx rate over 5 % of at least 20 requests in 15 minutes;
//   - notification-to-feed lag over 60 s (`outlook.change_feed.lag`, the slowest in 15 minutes).
// Each fires an action group that mails alertEmail (none: the alerts still show in the portal).
param applicationInsightsName string
param location string
param tags object = {}
@description('Who is mailed when an alert fires; empty: no action group (alerts show in the portal only).')
param alertEmail string = ''
@description('5xx share of requests (percent) that fires the 5xx alert.')
param serverErrorPercent int = 5
@description('Seconds from a notification\'s intake to its changes in the feed that fire the lag alert.')
param feedLagSeconds int = 60

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${applicationInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'outlook-ops'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var queueDepth = 'customMetrics | where name == "outlook.queue.depth" | extend queue = tostring(customDimensions["queue"])'
var rules = [
  {
    name: 'poison-queue-not-empty'
    description: 'A queue message failed every retry and sits in a poison queue (<queue>-poison): see infra/README.md "Alerts".'
    severity: 1
    query: '${queueDepth} | where queue endswith "-poison" | summarize depth = max(valueMax) by queue'
    measure: 'depth'
    threshold: 0
    dimensions: [
      {
        name: 'queue'
        operator: 'Include'
        values: [
          '*'
        ]
      }
    ]
  }
  {
    name: 'webhook-dead-letters'
    description: 'Changes the HERP webhook could not deliver for 24 h wait in queue herp-webhooks-dead.'
    severity: 2
    query: '${queueDepth} | where queue == "herp-webhooks-dead" | summarize depth = max(valueMax)'
    measure: 'depth'
    threshold: 0
    dimensions: []
  }
  {
    name: 'server-errors'
    description: 'More than ${serverErrorPercent} % of at least 20 requests answered 5xx.'
    severity: 1
    query: 'requests | summarize total = count(), failed = countif(toint(resultCode) >= 500) | where total >= 20 | extend rate = 100.0 * failed / total | project rate'
    measure: 'rate'
    threshold: serverErrorPercent
    dimensions: []
  }
  {
    name: 'change-feed-lag'
    description: 'A change from Outlook took more than ${feedLagSeconds} s from Graph\'s notification to the change feed.'
    severity: 2
    query: 'customMetrics | where name == "outlook.change_feed.lag" | summarize lag = max(valueMax)'
    measure: 'lag'
    threshold: feedLagSeconds
    dimensions: []
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${rule.name}-${applicationInsightsName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.name
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: rule.measure
          operator: 'GreaterThan'
          threshold: rule.threshold
          dimensions: rule.dimensions
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: empty(alertEmail) ? [] : [
        actionGroup.id
      ]
    }
  }
}]

output alertNames array = [for (rule, i) in rules: alerts[i].name]
