"""The Functions app: a registry of one Blueprint per scenario module, nothing else.

Scenarios: conference trip booking (``book_trip``, ``book_trips``), backup to Blob Storage
(``backup_site_content``) and site processing (``process_sites``); plus the durable HTTP starter,
the F1/F2 fan-out endpoints and the event starters (``booking-requests`` queue, scheduled backup
when ``BACKUP_SCHEDULE`` is set). See docs/app.md.
"""

import azure.durable_functions as df
import azure.functions as func

from activities import backup as backup_activities
from activities import booking as booking_activities
from activities import sites as site_activities
from api import events, fanout, starters
from orchestrators import backup, booking, sites

# HTTP functions require a function key in Azure (the local host does not check keys).
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    booking.bp,
    booking_activities.bp,
    backup.bp,
    backup_activities.bp,
    sites.bp,
    site_activities.bp,
    starters.bp,
    fanout.bp,
    events.bp,
):
    app.register_functions(blueprint)
