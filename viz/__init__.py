"""Pictures of what the engines expose: Graphviz drawings of scalar graphs and matplotlib figures.

Submodules are imported on first use so that ``import microgradx`` does not pull in matplotlib.
"""
