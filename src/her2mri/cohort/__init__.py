"""cohort package."""
