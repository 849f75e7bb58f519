"""Assist options and tools from the settings, for the CLI, the API and the worker."""

from __future__ import annotations

from datetime import timedelta

from recoup.adapters.assist.files import ModelDir
from recoup.adapters.assist.learner import SklearnLearner
from recoup.domain.assist.spikes import SpikeRule
from recoup.services.assist import AssistOptions, AssistTools
from recoup.settings import AssistSettings


def assist_options(settings: AssistSettings) -> AssistOptions:
    return AssistOptions(
        min_labels=settings.min_labels,
        band=settings.band,
        holdout=settings.holdout,
        max_labels=settings.max_labels,
        spike=SpikeRule(
            window=timedelta(hours=settings.spike_window_hours),
            baseline=timedelta(days=settings.spike_baseline_days),
            min_count=settings.spike_min_count,
            min_lift=settings.spike_min_lift,
            alpha=settings.spike_alpha,
        ),
    )


def assist_tools(settings: AssistSettings) -> AssistTools:
    return AssistTools(learner=SklearnLearner(), files=ModelDir(settings.models_dir))


__all__ = ["assist_options", "assist_tools"]
