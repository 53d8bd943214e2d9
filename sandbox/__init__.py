"""A fake Slack for tests and the local workspace: Web API, response_urls, uploads, and a client."""
