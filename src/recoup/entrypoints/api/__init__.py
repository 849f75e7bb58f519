"""The HTTP interface: inbound webhooks now; the REST API and pages later."""
