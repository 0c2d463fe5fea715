"""The SST-2 competition, torch-free: rules, teams, entry validation, the ledger, scoring and the leaderboard pages."""
