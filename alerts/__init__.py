"""Rules over live data, the alarm life cycle, cases with SLA clocks on a working calendar, notifications."""
