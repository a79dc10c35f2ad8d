"""The lean core: the estimator (``InstructionMap``), its solvers and label-free selection, save and load.

It needs numpy, scikit-learn and safetensors only, and imports nothing from the layers above it.
"""
