"""The pure pipeline domain: stages, deals, money, dates, metrics. No Slack, no scheduler."""
