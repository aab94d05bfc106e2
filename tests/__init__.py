"""robot-us test suite."""
