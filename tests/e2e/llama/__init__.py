"""End-to-end tests against a real engine: llama.cpp's server (llama-cpp-python) with SmolLM2."""
