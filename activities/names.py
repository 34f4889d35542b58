"""Activity names, shared by the activities that register them and the orchestrators that call
them. Plain constants with no imports, so orchestrator modules can use them without importing any
I/O code."""

# Conference trip booking
BOOK_TICKET = "book_conference_ticket"
BOOK_FLIGHT = "book_flight"
BOOK_TRAIN = "book_train"
BOOK_HOTEL = "book_hotel"
CANCEL_BOOKING = "cancel_booking"
REPORT_EXPENSES = "report_expenses"

# Backup
PREPARE_BACKUP_CONTAINER = "prepare_backup_container"
LIST_BACKUP_FILES = "list_backup_files"
COPY_FILE_TO_BLOB = "copy_file_to_blob"

# Site processing
PROCESS_SITE = "process_site"
