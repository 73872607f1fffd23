"""ApiKey now lives in the `delivery` app (delivery 0001 adds it to that app's state with the
same table). Here it only leaves the `flags` state; the table and its rows are untouched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("flags", "0003_flag_keys_any_case"),
        ("delivery", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiKey")],
            database_operations=[],
        ),
    ]
