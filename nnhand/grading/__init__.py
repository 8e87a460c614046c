"""Reading a learner's answers and grading them: answer files, grades, slips, practice."""
