"""Quality-control metric kernels (restoration and segmentation), pure JAX/NumPy."""
