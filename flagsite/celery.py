"""The Celery app. Tasks live next to the code they call (`flags/tasks.py`, ...)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")

app = Celery("flagsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
