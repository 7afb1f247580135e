"""The clock of the bot: APScheduler wiring, the reminder planner and the outbox sender."""
