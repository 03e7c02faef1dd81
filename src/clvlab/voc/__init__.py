"""Voice of the customer: feedback metrics (NPS, CSAT, CES) with intervals, drivers, value by NPS class."""
