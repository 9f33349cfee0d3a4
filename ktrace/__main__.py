from ktrace.cli import program

program()
