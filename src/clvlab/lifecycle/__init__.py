"""Lifecycle: stages, transitions, onboarding, health score."""
