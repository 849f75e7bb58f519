"""Detectors turn events into findings; the taxonomy holds each finding type's defaults."""
