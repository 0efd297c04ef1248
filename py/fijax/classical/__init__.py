"""Classical restoration baselines (PURE-LET), pure JAX/NumPy."""
