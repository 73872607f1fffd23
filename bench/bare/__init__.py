"""The yardstick of bench/api.py: a Django project with no apps and no middleware whose one view
returns a fixed 48-byte JSON body, served by the same server settings as flagsite."""
