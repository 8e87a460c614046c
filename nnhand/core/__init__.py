"""template → instance → key → sheet: the maths of an exercise; nothing here prints."""
