"""Background jobs of the bot: the reminder planner job (APScheduler), the outbox sender and notice progress."""
