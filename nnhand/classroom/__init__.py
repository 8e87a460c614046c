"""A whole class, in the order of its flow:

roster.py     who is in the class, the secret, and the seeds it gives each student
build.py      the worksheet folder: sealed variants, sheets, keys, answer files, the manifest written
manifest.py   the manifest's strict reader: what worksheet wrote down, validated before any use
gradebook.py  grading a folder of submissions against the manifest, and the grade book's outputs
export.py     a pool of sealed variants for a learning-management system
"""
