"""Use cases of the programme staff: enrolment, imports, records, schedule preview, reports."""
