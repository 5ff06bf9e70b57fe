"""What people do with dlpd's findings, shared by the CLI and the console: triage."""
