"""Area-free building blocks: clock, dates and periods, working calendar, i18n, vocabularies, errors."""
