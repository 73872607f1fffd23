"""Benchmark settings: production settings plus one minimal view to compare against."""

from flagsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
