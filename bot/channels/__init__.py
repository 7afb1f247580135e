"""Channel adapters: Telegram, the local console (Zalo next). They translate to and from bot.messages."""
