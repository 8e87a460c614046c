"""What keeps stranger input and output safe: bounded reads, escaping for each destination, atomic writes."""
