"""Assist: learned triage suggestions inside the policy's guardrails, spike alerts and case
summaries. Pure: the learning library sits behind the ports in ``model.py``."""
