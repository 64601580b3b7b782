"""The pure core: policy language, calendars, clocks, triage and billing. No I/O."""
