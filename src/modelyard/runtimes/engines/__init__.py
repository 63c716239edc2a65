"""Adapters to external LLM engines (vLLM, TGI, llama.cpp, TensorRT-LLM).

Each adapter is pure: an ``EngineSpec`` becomes an ``EngineCommand`` (argv, env, health
path) and the engine's Prometheus text becomes modelyard's metric names. Only
``install.check_installed`` looks at the machine.
"""
