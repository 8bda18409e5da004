"""The thin asyncio shell: AMI gateway (panoramisk), FastAGI server, SQLite store (aiosqlite)."""
