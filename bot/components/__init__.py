"""Beckon's own Rasa components (registered with Rasa's default recipe)."""
