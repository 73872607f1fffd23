import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsite.settings")
django_application = get_wsgi_application()

# The ruleset poll's 304 answered in front of Django's handler (delivery/wsgilane.py).
from delivery.wsgilane import DeliveryWSGILane  # noqa: E402  (needs the settings above)

application = DeliveryWSGILane(django_application)
