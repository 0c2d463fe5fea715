"""The leaves every other layer stands on, standard library only (the torch-free competition needs nothing more): files, Markdown, shipped files, the machine, optional extras."""
