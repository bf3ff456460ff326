"""Runs the whole system on one machine with the embedded defaults (`make run`)."""
