"""A whole class: roster, one sealed variant per student, a grade book from submitted folders."""
