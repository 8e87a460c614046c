"""Every writer: the one page model and the formats that render it (terminal, print, LMS, reports)."""
