"""Public orchestrator names: the starter URL (`/api/orchestrators/{name}`) and sub-orchestration
calls use these, so a rename happens in one place."""

BOOK_TRIP = "book_trip"
BOOK_TRIPS = "book_trips"
BACKUP_SITE_CONTENT = "backup_site_content"
PROCESS_SITES = "process_sites"
