"""The SST-2 competition, torch-free: rules, teams, entry validation, the ledger, scoring, the leaderboard pages."""
