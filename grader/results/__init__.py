"""What grading produces, and where it goes: the result schema (result), the output
folder's layout (layout), the gradebook, the exports to other tools, the Gradescope
bundle."""
