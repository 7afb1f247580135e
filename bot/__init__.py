"""Trợ lý Công đoàn — the channel-agnostic core of the trade-union assistant."""
