from nnhand.cli import run

run()
