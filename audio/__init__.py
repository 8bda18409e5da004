"""Audio catalogue (pure) and conversion (pydub)."""
