"""Pure Block Kit builders shared by handlers and scheduler jobs: domain objects in, blocks out."""
