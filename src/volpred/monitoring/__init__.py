"""What the analysts watch between reviews: each run's facts (the latest forecast, the VIX, the
data's freshness) and the KPI and freshness checks on them.

`facts` is pure (the run's facts from the card and the cleaning report, the checks against the
thresholds in `Settings`), `records` keeps them as JSON lines under `alerts_dir` (the offline
record the API and the dashboard read). The flow emits them as Prefect events
(`volpred.flows.alerts`); the automations that notify on them are in
`deployments/automations.yaml` (`volpred.runtime.automations`). May import `volpred.model.card`,
`volpred.runtime` and `volpred.config`."""
