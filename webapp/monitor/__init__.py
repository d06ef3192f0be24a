"""The live memory monitor: psutil readings and the one sampler per process that pushes them."""
