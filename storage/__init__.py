"""The SQL store: models, sessions, repositories and migrations. Never imports Slack."""
